"""Keyset pagination: an opaque cursor holds the sort key of the last row served, so page N costs the
same as page 1 (an index range scan from the key), and rows added meanwhile never shift a page."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Generic, TypeVar
from urllib.parse import parse_qsl, urlencode

import orjson
from fastapi import Query, Request
from pydantic import BaseModel, Field

from chitieu.api.problems import Problem

T = TypeVar("T")

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Rows per page")]
Cursor = Annotated[
    str | None,
    Query(max_length=2048, description="`next_cursor` of the previous page; omit for the first page"),
]


class Page(BaseModel, Generic[T]):
    items: list[T]
    limit: int = Field(examples=[100])
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")
    next: str | None = Field(description="The next page's path and query; null on the last page")


def encode(key: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(key))).decode().rstrip("=")


def decode(cursor: str | None, size: int, types: tuple[type, ...] | None = None) -> list[Any] | None:
    """The key a cursor holds (None: first page); a cursor we did not make is a 422. `types`, the
    type of each part of the key, keeps a forged cursor from reaching SQL as a value of the wrong
    type (a database error, not the client's)."""
    if cursor is None or cursor == "":
        return None
    try:
        key = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        key = None
    if (
        not isinstance(key, list)
        or len(key) != size
        or (types is not None and [type(part) for part in key] != list(types))
    ):
        raise Problem(422, vi="Con trỏ trang không hợp lệ", en="invalid cursor", code="invalid-cursor")
    return key


def page(
    request: Request, rows: list[dict[str, Any]], limit: int, key: Callable[[dict[str, Any]], Sequence[Any]]
) -> dict[str, Any]:
    """The page envelope for `rows` fetched with LIMIT limit + 1."""
    items = rows[:limit]
    return page_of(request, items, limit, key(items[-1]) if len(rows) > limit and items else None)


def page_of(request: Request, items: Any, limit: int, last_key: Sequence[Any] | None) -> dict[str, Any]:
    """The page envelope for `items` (rows, or their JSON as an orjson.Fragment), given the key of the
    last row when another page follows."""
    cursor = encode(last_key) if last_key is not None else None
    nxt = None
    if cursor is not None:
        # What starlette's URL.include_query_params gives (the cursor replaced, last), without
        # building two more URLs.
        url = request.url
        params = [(k, v) for k, v in parse_qsl(url.query, keep_blank_values=True) if k != "cursor"]
        params.append(("cursor", cursor))
        nxt = f"{url.path}?{urlencode(params)}"
    return {"items": items, "limit": limit, "next_cursor": cursor, "next": nxt}
