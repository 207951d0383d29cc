"""Shared fixtures: a real TimescaleDB (the embedded cluster, or DATABASE_URL), never a mock.

The session migrates one template database; each test that asks for `db_dsn` gets a fresh copy
of it, so tests never see each other's rows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from chitieu.db import local, migrate
from chitieu.settings import Settings, get_settings

SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture(scope="session")
def base_settings() -> Settings:
    settings = Settings()
    local.up(settings)
    return settings


def _admin(settings: Settings) -> psycopg.Connection:
    return psycopg.connect(settings.dsn("postgres"), autocommit=True)


def _drop(conn: psycopg.Connection, name: str) -> None:
    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def template_db(base_settings: Settings) -> Iterator[str]:
    name = f"chitieu_tpl_{uuid.uuid4().hex[:8]}"
    with _admin(base_settings) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    with psycopg.connect(base_settings.dsn(name)) as conn:
        migrate.migrate(conn, base_settings.schemas_dir)
        migrate.ensure_readonly_login(conn, base_settings)
    with _admin(base_settings) as admin:
        # TimescaleDB's background workers skip databases that refuse connections, which is
        # what lets the template be copied.
        admin.execute(sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS false").format(sql.Identifier(name)))
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
    yield name
    with _admin(base_settings) as admin:
        admin.execute(sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS true").format(sql.Identifier(name)))
        _drop(admin, name)


@pytest.fixture()
def db_dsn(base_settings: Settings, template_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh, migrated database; DATABASE_URL points at it for the code under test."""
    name = f"chitieu_t_{uuid.uuid4().hex[:10]}"
    with _admin(base_settings) as admin:
        admin.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template_db)
            )
        )
    dsn = base_settings.dsn(name)
    monkeypatch.setenv("DATABASE_URL", dsn)
    get_settings.cache_clear()
    yield dsn
    get_settings.cache_clear()
    with _admin(base_settings) as admin:
        _drop(admin, name)


@pytest.fixture()
def db(db_dsn: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        yield conn


@pytest.fixture()
def seeds_dir() -> Path:
    path = SHARED / "seeds"
    if not path.is_dir():
        pytest.skip(f"seed documents not found at {path}")
    return path


@pytest.fixture(autouse=True)
def _fresh_settings_cache() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
