"""The upload size limit, applied while the body arrives.

Starlette's form parser would otherwise spool the whole body to disk before the route could look at
its size. A declared Content-Length over the limit is refused before one byte is read; a body sent
without one (chunked) or longer than it declared is counted as it streams and cut off at the limit.
Either way the answer is a 413 problem and the part already received is discarded, never archived:
a file refused for its size was never received whole.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chitieu.api import problems
from chitieu.settings import get_settings

MB = 1024 * 1024
# The multipart envelope around the file (boundaries, part headers, the small form fields).
FRAMING_BYTES = 64 * 1024


def _messages(limit_mb: float) -> dict[str, str]:
    return {
        "vi": f"Tệp gửi lên vượt giới hạn {limit_mb:g} MB; hãy chia nhỏ tệp",
        "en": f"the upload exceeds the {limit_mb:g} MB limit; split the file",
    }


class UploadBodyLimit:
    def __init__(self, app: ASGIApp, *, path: str) -> None:
        self.app = app
        self.path = path.rstrip("/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"].rstrip("/") != self.path:
            await self.app(scope, receive, send)
            return
        limit_mb = get_settings().api_max_upload_mb
        limit = int(limit_mb * MB) + FRAMING_BYTES
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            text = _messages(limit_mb)
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
                    # Raised inside the form parser; FastAPI lets an HTTPException through and the
                    # problem handler answers it (a {vi, en} detail gives both languages).
                    detail: Any = _messages(limit_mb)
                    raise HTTPException(413, detail=detail)
            return message

        await self.app(scope, counted, send)


def _content_length(scope: Scope) -> int | None:
    headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
    for key, value in headers:
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
