"""Database access for the routes, and the shared lookups of their parameters.

Read routes take a connection only when they must query (a cached answer needs none), through
`connection(request)`; write routes run the core's synchronous functions in a worker thread on a
connection of the small synchronous pool (`sync_connection`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime
from typing import Annotated, Any

import psycopg
from fastapi import Path, Request
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from chitieu import places
from chitieu.api.problems import Problem
from chitieu.vietnam_time import TZ

# Row ids are bigserial: a larger number is no row, and PostgreSQL would refuse it as a parameter.
RowId = Annotated[int, Path(ge=1, le=2**63 - 1, examples=[1])]

_UNAVAILABLE = {"vi": "Không kết nối được cơ sở dữ liệu", "en": "database unavailable"}


@asynccontextmanager
async def pooled(pool: AsyncConnectionPool[Any]) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """A connection of the pool, or a 503 problem within seconds when the database is down."""
    try:
        async with pool.connection(timeout=5) as conn:
            yield conn
    except (PoolTimeout, psycopg.OperationalError) as exc:
        raise Problem(503, **_UNAVAILABLE, headers={"Retry-After": "5"}) from exc


@asynccontextmanager
async def connection(request: Request) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    async with pooled(request.app.state.pool) as conn:
        yield conn


@contextmanager
def sync_connection(request: Request) -> Iterator[psycopg.Connection[Any]]:
    try:
        with request.app.state.sync_pool.connection(timeout=5) as conn:
            yield conn
    except (PoolTimeout, psycopg.OperationalError) as exc:
        raise Problem(503, **_UNAVAILABLE, headers={"Retry-After": "5"}) from exc


def jurisdiction_ids(text: str | None) -> list[str] | None:
    """chitieu.places.jurisdiction_ids; an unknown name is a 404."""
    try:
        return places.jurisdiction_ids(text)
    except places.UnknownJurisdiction as exc:
        raise not_found("địa phương", "jurisdiction", text) from exc


def not_found(what_vi: str, what_en: str, ref: object) -> Problem:
    return Problem(404, vi=f"Không tìm thấy {what_vi} '{ref}'", en=f"unknown {what_en} '{ref}'")


def aware(moment: datetime | None) -> datetime | None:
    """A time without an offset is read as Vietnam's time (UTC+7), the users' clock."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=TZ)


def changed(request: Request) -> None:
    """Read-your-writes after a write through the API: drop cached answers now rather than when
    the database's change notice arrives a moment later."""
    feed = request.app.state.feed
    if feed is not None:
        feed.version += 1
