"""Shared fixtures: a real TimescaleDB (the embedded cluster, or DATABASE_URL), never a mock.

The session migrates one template database; each test that asks for `db_dsn` gets a fresh copy
of it, so tests never see each other's rows. Under pytest-xdist every worker is a session of its
own: its own template and copies in the same cluster, so workers never share a database.
"""

from __future__ import annotations

import fcntl
import os
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql

from chitieu.db import local, migrate
from chitieu.settings import Settings, get_settings

SHARED = Path(__file__).resolve().parents[2] / "shared"


# Every fixture that reaches the database depends on this one; a test whose fixtures do is marked `db`,
# and so is the Celery test, which starts a TimescaleDB cluster of its own.
DATABASE_FIXTURE = "base_settings"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    ids = Counter(item.nodeid for item in items)
    for item in items:
        if DATABASE_FIXTURE in getattr(item, "fixturenames", ()) or item.get_closest_marker("celery"):
            item.add_marker(pytest.mark.db)
        # pytest-xdist knows a test by its id alone: of several tests sharing one (schemathesis'
        # cases under pytest 9 do) it would run one and drop the rest without a word.
        if ids[item.nodeid] > 1 or item.get_closest_marker("celery"):
            item.add_marker(pytest.mark.serial)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(ids: list[str]) -> None:
    """Refuse, before anything runs, to hand xdist tests it cannot tell apart."""
    shared = sorted(i for i, n in Counter(ids).items() if n > 1)
    if shared:
        pytest.exit(
            f"tests sharing an id cannot run under pytest-xdist (select -m 'not serial'): {shared}",
            returncode=pytest.ExitCode.USAGE_ERROR,
        )


def _worker() -> str:
    """This xdist worker's id ("gw0", ...), or "main" without xdist."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def base_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = Settings()
    # xdist workers start together; one at a time may start the cluster (starting it twice races).
    # The parent of a worker's base temp directory is shared by the workers of one run.
    lock_path = tmp_path_factory.getbasetemp().parent / f"chitieu-db-up-{settings.local_pg_port}.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        local.up(settings)
    return settings


def _admin(settings: Settings) -> psycopg.Connection:
    return psycopg.connect(settings.dsn("postgres"), autocommit=True)


def _drop(conn: psycopg.Connection, name: str) -> None:
    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def template_db(base_settings: Settings) -> Iterator[str]:
    name = f"chitieu_tpl_{_worker()}_{uuid.uuid4().hex[:8]}"
    with _admin(base_settings) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    with psycopg.connect(base_settings.dsn(name)) as conn:
        migrate.migrate(conn)
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


@pytest.fixture
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


@pytest.fixture
def db(db_dsn: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        yield conn


@pytest.fixture
def empty_db(base_settings: Settings) -> Iterator[psycopg.Connection]:
    """An empty database, no migration applied: for tests of the migrations themselves."""
    name = f"chitieu_empty_{uuid.uuid4().hex[:8]}"
    with _admin(base_settings) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    with psycopg.connect(base_settings.dsn(name), autocommit=True) as conn:
        yield conn
    with _admin(base_settings) as admin:
        _drop(admin, name)


@pytest.fixture
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


# --- the HTTP API ---------------------------------------------------------------------------------


@pytest.fixture
def api_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """CHITIEU_DATA_DIR (archive, inbox) in the test's own directory."""
    monkeypatch.setenv("CHITIEU_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    return tmp_path / "data"


def load_samples(dsn: str) -> None:
    """The catalog, two sample spreadsheets (a wide report, then the template revising some of its
    figures), one evaluation with its alerts, and the refreshed latest-status table."""
    from chitieu.alerts.lifecycle import sync_alerts
    from chitieu.catalog.loader import load_catalog
    from chitieu.dashboards.views import refresh
    from chitieu.evaluate.engine import evaluate
    from chitieu.ingest.intake import ingest_file

    samples = Path(__file__).resolve().parents[1] / "samples" / "inbox"
    with psycopg.connect(dsn) as conn:
        load_catalog(conn)
    with psycopg.connect(dsn, autocommit=True) as conn:
        for name in ("bao-cao-chi-tieu-57-2020-2024.xlsx", "mau-nhap-lieu-4-tinh-2020-2025.xlsx"):
            ingest_file(conn, samples / name)
        now = datetime.now(UTC)  # after the loads: an earlier as_of would see no figures
        evaluate(conn, as_of=now)
        sync_alerts(conn, now)
        refresh(conn)


@pytest.fixture
def catalog_db(db: psycopg.Connection, db_dsn: str) -> psycopg.Connection:
    """The test's database with the catalog loaded (plans, indicators, jurisdictions, sources)."""
    from chitieu.catalog.loader import load_catalog

    with psycopg.connect(db_dsn) as conn:
        load_catalog(conn)
        conn.commit()
    return db


@pytest.fixture
def loaded_db(db: psycopg.Connection, db_dsn: str, api_data_dir: Path) -> psycopg.Connection:  # noqa: ARG001
    """`load_samples` into the test's database (its archive in the test's CHITIEU_DATA_DIR)."""
    load_samples(db_dsn)
    return db


@pytest.fixture
def api_keys(db: psycopg.Connection) -> dict[str, str]:
    """A token per role: {'viewer': 'ct_…', 'engineer': …, 'admin': …}."""
    from chitieu.api.keys import ROLES, create_key

    return {role: create_key(db, role=role, name=f"test {role}")[0] for role in ROLES}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def eventually(fetch: Any, ok: Any, seconds: float = 5.0) -> Any:
    """The first fetch() for which ok() holds, or the last one after `seconds`: the API's change
    feed hears of a direct database write a moment after it commits, so wait for it (bounded)
    rather than for a fixed time."""
    deadline = time.monotonic() + seconds
    while True:
        value = fetch()
        if ok(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


@pytest.fixture
def api(db_dsn: str, api_data_dir: Path) -> Iterator[TestClient]:  # noqa: ARG001
    """The app (lifespan run: pools, change feed) over httpx against the test's database (DATABASE_URL)
    and CHITIEU_DATA_DIR."""
    from chitieu.api import create_app

    with TestClient(create_app(), raise_server_exceptions=False) as client:
        yield client


os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
