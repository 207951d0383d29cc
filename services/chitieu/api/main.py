"""`create_app()`: the FastAPI application. Pools, the change feed and the upload worker's watch start
with the app (never at import time), so `chitieu api openapi` needs no database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from chitieu.api import problems
from chitieu.api.auth import Gate
from chitieu.api.bodylimit import BodyLimit
from chitieu.api.cache import ChangeFeed, ResponseCache
from chitieu.api.deps import check_connection
from chitieu.api.routes import alerts, apikeys, catalog, exports, figures, health, quarantine, uploads
from chitieu.settings import get_settings
from chitieu.uploads.supervisor import WorkerProcess

PREFIX = "/api/v1"
DESCRIPTION = """\
Chỉ tiêu Nghị quyết 57-NQ/TW của các tỉnh: mục tiêu kèm trích dẫn, số liệu kèm nguồn gốc, tình trạng,
cảnh báo, tải tệp lên, xuất dữ liệu. / Provincial Resolution 57-NQ/TW indicator targets with their
citations, figures with their provenance, statuses, alerts, uploads and exports.

**Authentication**: `Authorization: Bearer <API key>` (`chitieu apikey create --role viewer|engineer|admin`).
Viewers read; engineers also upload and silence; admins also manage keys. With `CHITIEU_API_PUBLIC_READ=true`
read endpoints need no key. **Errors** are `application/problem+json` with `detail` (English) and
`detail_vi` (Vietnamese). **Pagination**: follow `next` (keyset cursors). **Caching**: every read answer
has an `ETag`; send it back in `If-None-Match` to get `304 Not Modified`.
"""


RECONNECT_TIMEOUT_S = 3.0


def _conn_kwargs(name: str) -> dict[str, Any]:
    # connect_timeout: an unreachable server fails a connection attempt in seconds, not minutes.
    return {"autocommit": True, "application_name": name, "connect_timeout": 3}


def create_app(dsn: str | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings = get_settings()
        url = dsn or settings.dsn()
        # check: a connection the database dropped (a restart) is replaced at checkout, not handed
        # to a request (deps.check_connection: a round trip only when the server sent something).
        # A short reconnect_timeout ends an attempt's growing back-off within seconds, so once the
        # database is back the next request connects at once instead of waiting for a retry
        # scheduled tens of seconds later.
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            url, min_size=2, max_size=settings.api_pool_max_size, open=False,
            kwargs={**_conn_kwargs("chitieu-api"), "row_factory": dict_row},
            check=check_connection, reconnect_timeout=RECONNECT_TIMEOUT_S,
        )  # fmt: skip
        # Writes reuse the core's synchronous functions in worker threads.
        sync_pool: ConnectionPool[Any] = ConnectionPool(
            url, min_size=0, max_size=4, open=False, kwargs=_conn_kwargs("chitieu-api-writes"),
            check=ConnectionPool.check_connection, reconnect_timeout=RECONNECT_TIMEOUT_S,
        )  # fmt: skip
        # wait=False: the API starts (and /readyz answers 503) while the database is down.
        await pool.open(wait=False)
        sync_pool.open(wait=False)
        # The feed also tells the key checks when keys change, so it runs with the cache off too.
        feed = ChangeFeed(url)
        await feed.start()
        app.state.pool, app.state.sync_pool, app.state.feed = pool, sync_pool, feed
        app.state.cache = ResponseCache(feed, settings.api_cache_entries if settings.api_cache else 0)
        app.state.gate = Gate(
            app.state,
            public_read=settings.api_public_read,
            rate=settings.api_rate_limit,
            anonymous_rate=settings.api_anonymous_rate_limit,
        )
        # Background uploads are parsed in a child process, never in this one.
        app.state.uploads = WorkerProcess(url, pool, enabled=settings.api_upload_worker)
        await app.state.uploads.start()
        try:
            yield
        finally:
            await app.state.uploads.stop()
            await feed.stop()
            await pool.close()
            sync_pool.close()

    app = FastAPI(
        title="Chỉ Tiêu API",
        description=DESCRIPTION,
        version="1.0.0",
        lifespan=lifespan,
        openapi_url=f"{PREFIX}/openapi.json",
        docs_url=f"{PREFIX}/docs",
        redoc_url=None,
    )
    problems.install(app)
    app.add_middleware(BodyLimit, upload_path=f"{PREFIX}/uploads")
    api = APIRouter(prefix=PREFIX)
    for module in (catalog, figures, alerts, uploads, quarantine, exports, apikeys, health):
        api.include_router(module.router)
    app.include_router(api)
    # The probes also answer at the root, where orchestrators look for them.
    app.include_router(health.router, include_in_schema=False)
    return app
