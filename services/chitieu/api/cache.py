"""Read responses kept in memory until the data changes, and their ETags.

Every committed change to a table the API reads is NOTIFYed on 'chitieu_changes' (migration 060).
`ChangeFeed` LISTENs and bumps `version` on each notice; a cached body is keyed by the version seen
*before* its query ran, so a body read during a change is never served after the change's notice.
While the LISTEN connection is down nothing is cached (and ETags still hold: they hash the body).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
import psycopg
from starlette.requests import Request
from starlette.responses import Response

from chitieu.jsonable import json_default

CHANNEL = "chitieu_changes"
log = logging.getLogger("chitieu.api")


class ChangeFeed:
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.version = 0
        self.listening = False
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self, timeout: float = 5.0) -> None:
        self._task = asyncio.create_task(self._run(), name="chitieu-change-feed")
        # Wait (briefly) for LISTEN so that the first requests can already be cached.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), timeout)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        delay = 0.5
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.dsn, autocommit=True, application_name="chitieu-api-changes"
                ) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    # Anything may have changed while we were not listening.
                    self.version += 1
                    self.listening = True
                    self._ready.set()
                    delay = 0.5
                    async for _ in conn.notifies():
                        self.version += 1
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database went away: stop caching, retry with backoff
                log.warning("change feed lost (%s); caching paused, retrying in %.1fs", exc, delay)
            self.listening = False
            self.version += 1
            self._ready.set()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)


def etag_of(body: bytes) -> str:
    # SHA-256 (128 bits of it): CPUs hash it in hardware (SHA extensions), several times faster
    # than BLAKE2b in software on a page of ~90 KB.
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def dumps(data: Any) -> bytes:
    return orjson.dumps(data, default=json_default, option=orjson.OPT_NON_STR_KEYS)


@dataclass(frozen=True)
class Cached:
    body: bytes
    etag: str
    media_type: str


class ResponseCache:
    def __init__(self, feed: ChangeFeed | None, entries: int) -> None:
        self.feed = feed
        self.entries = entries
        self._items: OrderedDict[tuple[Any, ...], Cached] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def _enabled(self) -> bool:
        return self.feed is not None and self.feed.listening and self.entries > 0

    def _get(self, key: tuple[Any, ...]) -> Cached | None:
        item = self._items.get(key)
        if item is not None:
            self._items.move_to_end(key)
        return item

    def _put(self, key: tuple[Any, ...], item: Cached) -> None:
        self._items[key] = item
        if len(self._items) > self.entries:
            self._items.popitem(last=False)

    async def json(
        self,
        request: Request,
        build: Callable[[], Awaitable[Any]],
        *,
        media_type: str = "application/json",
        variant: Any = None,
    ) -> Response:
        """The JSON answer for this request's path and query, from memory when the data has not
        changed since it was built; 304 when the client already has it (If-None-Match). `variant`
        tells apart answers to the same URL that differ by caller (what a reader without a key sees)."""
        enabled = self._enabled()
        version = self.feed.version if self.feed is not None else 0
        key = (version, request.url.path, request.url.query, variant)
        item = self._get(key) if enabled else None
        if item is None:
            self.misses += 1
            body = dumps(await build())
            item = Cached(body, etag_of(body), media_type)
            # Only when nothing changed while building: then the body is that version's.
            if enabled and self.feed is not None and self.feed.version == version:
                self._put(key, item)
        else:
            self.hits += 1
        return conditional(request, item)


def conditional(request: Request, item: Cached) -> Response:
    headers = {"ETag": item.etag, "Cache-Control": "no-cache"}
    wanted = request.headers.get("if-none-match")
    # Weak comparison (RFC 9110 13.1.2): a W/ prefix a proxy added still matches.
    if wanted and (
        wanted.strip() == "*" or item.etag in {t.strip().removeprefix("W/") for t in wanted.split(",")}
    ):
        return Response(status_code=304, headers=headers)
    return Response(content=item.body, media_type=item.media_type, headers=headers)
