"""Database access for the routes, and the shared lookups of their parameters.

Read routes take a connection only when they must query (a cached answer needs none), through
`on_connection(request, work)` (or `connection(request)` for a transaction that spans a response);
write routes run the core's synchronous functions in a worker thread on a connection of the small
synchronous pool (`sync_connection`).
"""

from __future__ import annotations

import select
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime
from typing import Annotated, Any, TypeVar

import psycopg
from fastapi import Path, Request
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from chitieu import places
from chitieu.api.problems import RETRY_AFTER, UNAVAILABLE, Problem
from chitieu.vietnam_time import TZ

# Row ids are bigserial: a larger number is no row, and PostgreSQL would refuse it as a parameter.
RowId = Annotated[int, Path(ge=1, le=2**63 - 1, examples=[1])]

T = TypeVar("T")
AsyncConn = psycopg.AsyncConnection[Any]


async def check_connection(conn: AsyncConn) -> None:
    """The read pool's check at checkout: a connection the database dropped is not handed out.

    psycopg_pool's own check sends an empty query, a round trip on every checkout. The server
    sends nothing unasked to an idle connection except when it ends it (a restart, a terminated
    backend: an error message, then end of file), so the round trip is needed only when the
    socket has something to read; then the full check reads it and fails if the connection ended."""
    if not conn.closed:
        try:
            fd = conn.pgconn.socket
        except psycopg.OperationalError:
            fd = -1
        if fd >= 0:
            poller = select.poll()
            poller.register(fd, select.POLLIN | select.POLLPRI)
            if not poller.poll(0):
                return
    await AsyncConnectionPool.check_connection(conn)


def _unavailable() -> Problem:
    return Problem(503, **UNAVAILABLE, headers=dict(RETRY_AFTER))


@asynccontextmanager
async def pooled(pool: AsyncConnectionPool[Any]) -> AsyncIterator[AsyncConn]:
    """A connection of the pool, or a 503 problem within seconds when the database is down."""
    try:
        async with pool.connection(timeout=5) as conn:
            yield conn
    except (PoolTimeout, psycopg.OperationalError) as exc:
        raise _unavailable() from exc


async def run_pooled(pool: AsyncConnectionPool[Any], work: Callable[[AsyncConn], Awaitable[T]]) -> T:
    """`work` on a connection of the pool; once more on another when the database had ended the
    first (a server ending a connection just before it was taken is seen only when it is used),
    and a 503 problem when the database is down. For reads, which can be run again."""
    for retry in (True, False):
        conn: AsyncConn | None = None
        try:
            async with pool.connection(timeout=5) as conn:
                return await work(conn)
        except PoolTimeout as exc:
            raise _unavailable() from exc
        except psycopg.OperationalError as exc:
            if retry and conn is not None and conn.broken:
                continue
            raise _unavailable() from exc
    raise AssertionError("unreachable")  # the loop returns or raises


async def on_connection(request: Request, work: Callable[[AsyncConn], Awaitable[T]]) -> T:
    """`run_pooled` on the app's read pool."""
    return await run_pooled(request.app.state.pool, work)


@asynccontextmanager
async def connection(request: Request) -> AsyncIterator[AsyncConn]:
    async with pooled(request.app.state.pool) as conn:
        yield conn


@contextmanager
def sync_connection(request: Request) -> Iterator[psycopg.Connection[Any]]:
    try:
        with request.app.state.sync_pool.connection(timeout=5) as conn:
            yield conn
    except (PoolTimeout, psycopg.OperationalError) as exc:
        raise _unavailable() from exc


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
