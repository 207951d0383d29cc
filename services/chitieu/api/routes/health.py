from __future__ import annotations

from typing import Annotated

import psycopg
from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from psycopg_pool import ConnectionPool, PoolTimeout

from chitieu.api import queries
from chitieu.api.deps import get_pool

router = APIRouter(tags=["health"])


@router.get("/health")
def health(pool: Annotated[ConnectionPool, Depends(get_pool)]) -> JSONResponse:
    """DB reachable and the TimescaleDB version; 503 (not 500) while the database is down."""
    try:
        with pool.connection(timeout=3) as conn:
            versions = queries.server_versions(conn)
    except (PoolTimeout, psycopg.Error) as exc:
        return JSONResponse(
            status_code=503,
            content={
                "status": "unavailable",
                "database": False,
                "error": {"vi": "Không kết nối được cơ sở dữ liệu", "en": f"database unreachable: {exc}"},
            },
        )
    return JSONResponse(content={"status": "ok", "database": True, **versions})
