"""The read routes' one body: run a query on a pooled connection and answer its rows as JSON with an
ETag (304 to If-None-Match), as a list, a keyset page or the one row asked for (404 when there is
none). Answers come from the response cache unless `fresh`: what changes while a client polls it (an
upload job) or with the clock is built on every request."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import psycopg
from fastapi import Request
from fastapi.responses import Response

from chitieu.api.cache import Cached, ResponseCache, conditional, dumps, etag_of
from chitieu.api.deps import not_found, on_connection
from chitieu.api.pagination import page

Row = dict[str, Any]
Query = Callable[[psycopg.AsyncConnection[Any]], Awaitable[list[Row]]]
Shape = Callable[[Row], Row]
# What a missing row is called in a 404: (Vietnamese, English, the reference asked for).
Missing = tuple[str, str, object]


async def answer(
    request: Request, build: Callable[[], Awaitable[Any]], *, variant: Any = None, fresh: bool = False
) -> Response:
    """The JSON of what `build` returns; `variant` tells apart answers to the same URL that differ by
    caller (what a reader without a key sees)."""
    if fresh:
        body = dumps(await build())
        return conditional(request, Cached(body, etag_of(body), "application/json"))
    cache: ResponseCache = request.app.state.cache
    return await cache.json(request, build, variant=variant)


async def rows(request: Request, query: Query) -> list[Row]:
    return await on_connection(request, query)


async def read_list(
    request: Request, query: Query, *, shape: Shape | None = None, variant: Any = None, fresh: bool = False
) -> Response:
    """Every row the query returns."""

    async def build() -> list[Row]:
        found = await rows(request, query)
        return [shape(r) for r in found] if shape is not None else found

    return await answer(request, build, variant=variant, fresh=fresh)


async def read_page(
    request: Request,
    query: Query,
    *,
    limit: int,
    key: Callable[[Row], Sequence[Any]],
    shape: Shape | None = None,
    variant: Any = None,
    fresh: bool = False,
) -> Response:
    """One keyset page of a query run with LIMIT limit + 1; `key` is a row's cursor key."""

    async def build() -> dict[str, Any]:
        body = page(request, await rows(request, query), limit, key)
        if shape is not None:
            body["items"] = [shape(r) for r in body["items"]]
        return body

    return await answer(request, build, variant=variant, fresh=fresh)


async def read_one(
    request: Request,
    query: Query,
    missing: Missing,
    *,
    shape: Shape | None = None,
    variant: Any = None,
    fresh: bool = False,
) -> Response:
    """The first row the query returns, or a 404 naming what was asked for."""

    async def build() -> Row:
        found = await rows(request, query)
        if not found:
            raise not_found(*missing)
        return shape(found[0]) if shape is not None else found[0]

    return await answer(request, build, variant=variant, fresh=fresh)
