"""Who may send a body, and how much of one: checked before and while it arrives.

FastAPI reads a route's whole body (JSON or form) before it resolves the route's dependencies, the
authentication among them, so anyone could make the process hold a body of any size. This
middleware runs first: it finds the route a request is for, authenticates the caller for that
route's role (the same `Gate.check` as the dependency, which then takes the principal found here),
and only then lets the body be read, counted as it streams:

- an upload (`POST /uploads`) may carry CHITIEU_API_MAX_UPLOAD_MB plus its multipart envelope;
- every other body CHITIEU_API_MAX_BODY_KB (the JSON of silences and keys is a few hundred bytes).

A declared Content-Length over the limit is refused before one byte is read; a body sent without one
(chunked) or longer than it declared is cut off at the limit. Either way the answer is a 413 problem
and the part already received is discarded: a file refused for its size was never received whole, so
it is never archived.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chitieu.api import problems
from chitieu.api.auth import Gate, Requirement, bearer_token, requirement_of
from chitieu.api.problems import Problem
from chitieu.settings import get_settings
from chitieu.uploads.checks import MB, too_large

KB = 1024
# The multipart envelope around the file (boundaries, part headers, the small form fields).
FRAMING_BYTES = 64 * 1024
# Requests whose route requirement is remembered (method and path; paths with ids vary without bound).
REMEMBERED_PATHS = 4096


def _limit(scope: Scope, upload_path: str) -> tuple[int, dict[str, str]]:
    settings = get_settings()
    if scope["path"].rstrip("/") == upload_path:
        mb = settings.api_max_upload_mb
        refused = too_large(mb)
        return int(mb * MB) + FRAMING_BYTES, {"vi": refused.vi, "en": refused.en}
    kb = settings.api_max_body_kb
    return int(kb * KB), {
        "vi": f"Nội dung yêu cầu vượt giới hạn {kb:g} KB",
        "en": f"the request body exceeds the {kb:g} KB limit",
    }


class BodyLimit:
    def __init__(self, app: ASGIApp, *, upload_path: str) -> None:
        self.app = app
        self.upload_path = upload_path.rstrip("/")
        # The routes do not change once the app runs: finding one for a path is done once.
        self._requirements: dict[tuple[str, str, str], Requirement | None] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            await self._authenticate(scope)
        except Problem as exc:
            await problems.from_error(exc, instance=scope["path"])(scope, receive, send)
            return
        limit, text = _limit(scope, self.upload_path)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            response = problems.response(413, vi=text["vi"], en=text["en"], instance=scope["path"])
            await response(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Raised inside the body reader; FastAPI lets an HTTPException through and the
                    # problem handler answers it (a {vi, en} detail gives both languages).
                    detail: Any = text
                    raise HTTPException(413, detail=detail)
            return message

        await self.app(scope, counted, send)

    async def _authenticate(self, scope: Scope) -> None:
        """The route's own authentication, before its body is read. A path or method that matches no
        route is left to the app (404, 405), which reads no body."""
        app = scope.get("app")
        gate: Gate | None = getattr(getattr(app, "state", None), "gate", None)
        if app is None or gate is None:
            return
        key = (scope["method"], scope.get("root_path", ""), scope["path"])
        try:
            wanted = self._requirements[key]
        except KeyError:
            wanted = _requirement(app, scope)
            if len(self._requirements) >= REMEMBERED_PATHS:
                self._requirements.clear()
            self._requirements[key] = wanted
        if wanted is None:
            return  # the probes, the documentation, and what no route serves
        headers = dict(scope.get("headers", []))
        token = bearer_token(headers.get(b"authorization", b"").decode("latin-1"))
        client = scope["client"][0] if scope.get("client") else "unknown"
        principal = await gate.check(client, token, wanted.role, public=wanted.public)
        scope.setdefault("state", {})["principal"] = principal


def _requirement(app: Any, scope: Scope) -> Requirement | None:
    """The role and openness the route of this request requires (None: no route, or no key)."""
    for route in app.router.routes:
        match, _ = route.matches(scope)
        if match == Match.FULL:
            break
    else:
        return None
    dependant = getattr(route, "dependant", None)
    needs = [requirement_of(d.call) for d in (dependant.dependencies if dependant else [])]
    return next((r for r in needs if r is not None), None)


def _content_length(scope: Scope) -> int | None:
    headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
    for key, value in headers:
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
