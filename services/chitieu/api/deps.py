"""Dependencies of the routes, as `Annotated` aliases (the full-stack-fastapi-template way)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import psycopg
from fastapi import Depends, HTTPException, Request
from psycopg.rows import DictRow
from psycopg_pool import ConnectionPool, PoolTimeout

from chitieu.settings import Settings, get_settings


def get_pool(request: Request) -> ConnectionPool:
    pool: ConnectionPool = request.app.state.pool
    return pool


def get_conn(pool: Annotated[ConnectionPool, Depends(get_pool)]) -> Iterator[psycopg.Connection[DictRow]]:
    try:
        with pool.connection(timeout=5) as conn:
            yield conn  # type: ignore[misc]
    except PoolTimeout as exc:
        raise HTTPException(
            status_code=503,
            detail={"vi": "Không kết nối được cơ sở dữ liệu", "en": "database unavailable"},
        ) from exc


def settings_dep() -> Settings:
    return get_settings()


SessionDep = Annotated[psycopg.Connection[DictRow], Depends(get_conn)]
SettingsDep = Annotated[Settings, Depends(settings_dep)]
