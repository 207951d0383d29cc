"""`create_app()`: the FastAPI application. The pool opens on startup (never at import time)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from chitieu.api.routes.alerts import router as alerts_router
from chitieu.api.routes.health import router as health_router
from chitieu.api.routes.observations import router as observations_router
from chitieu.api.routes.status import router as status_router
from chitieu.api.routes.targets import router as targets_router
from chitieu.api.routes.uploads import router as uploads_router
from chitieu.settings import get_settings


def create_app(dsn: str | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = ConnectionPool(
            dsn or get_settings().dsn(),
            min_size=1,
            max_size=8,
            open=False,
            kwargs={"autocommit": True, "row_factory": dict_row, "application_name": "chitieu-api"},
        )
        # wait=False: the API starts (and /health answers 503) while the database is down.
        pool.open(wait=False)
        app.state.pool = pool
        try:
            yield
        finally:
            pool.close()

    app = FastAPI(
        title="Chỉ Tiêu API",
        description="Chỉ tiêu Nghị quyết 57-NQ/TW: mục tiêu, tình trạng, số liệu, cảnh báo, tải tệp lên. "
        "Resolution 57 indicator targets: targets, statuses, observations, alerts, uploads.",
        version="0.1.0",
        lifespan=lifespan,
    )
    for router in (
        health_router,
        targets_router,
        status_router,
        observations_router,
        alerts_router,
        uploads_router,
    ):
        app.include_router(router)
    return app
