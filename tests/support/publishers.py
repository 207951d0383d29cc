"""The demo's publisher server with what only tests need: failure injection, canned answers and a
record of every request (for assertions on what a connector asked).

    with PublisherServer(root=Path("tests/fixtures/publishers")) as srv:
        srv.fail_next(1)       # the next request gets a 500
        srv.requests           # what was asked
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from chitieu.demo import publishers as demo
from chitieu.demo.publishers import DROP, Reply, render_dti_page

__all__ = ["PublisherServer", "RecordedRequest", "render_dti_page"]


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode("utf-8"), keep_blank_values=True)

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class _Canned:
    status: int
    body: bytes
    content_type: str
    times: int | None  # None: for ever


class PublisherServer(demo.PublisherServer):
    def __init__(self, root: Path | str | None = None, data: Any = None, **kwargs: Any) -> None:
        super().__init__(root, data, **kwargs)
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._failures: list[int | None] = []  # a status, or None: drop the connection
        self._canned: dict[str, _Canned] = {}

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def requests_to(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path]

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def fail_next(self, n: int = 1, status: int = 500) -> None:
        """The next n requests (any path) are answered with `status`."""
        with self._lock:
            self._failures.extend([status] * n)

    def drop_next(self, n: int = 1) -> None:
        """The next n requests get no answer: the connection is closed (a transport error)."""
        with self._lock:
            self._failures.extend([None] * n)

    def override(
        self,
        path: str,
        body: bytes | str,
        *,
        status: int = 200,
        content_type: str = "application/json; charset=utf-8",
        times: int | None = None,
    ) -> None:
        """Answer requests to `path` (query ignored) with these bytes, `times` times (None: always)."""
        raw = body.encode() if isinstance(body, str) else body
        with self._lock:
            self._canned[path] = _Canned(status, raw, content_type, times)

    def intercept(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply | None:
        parts = urlsplit(path)
        query = parse_qs(parts.query, keep_blank_values=True)
        with self._lock:
            self._requests.append(RecordedRequest(method, parts.path, query, body, headers))
            if self._failures:
                status = self._failures.pop(0)
                if status is None:
                    return DROP
                return status, b"<html><body><h1>Internal Server Error</h1></body></html>", "text/html"
            canned = self._canned.get(parts.path)
            if canned is None:
                return None
            if canned.times is not None:
                canned.times -= 1
                if canned.times <= 0:
                    del self._canned[parts.path]
            return canned.status, canned.body, canned.content_type
