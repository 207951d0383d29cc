"""The HTTP API with FastAPI's TestClient against the real TimescaleDB."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from chitieu.api import create_app
from chitieu.settings import PROJECT_ROOT, get_settings

SAMPLES = PROJECT_ROOT / "samples" / "inbox"
TEMPLATE = SAMPLES / "mau-nhap-lieu-4-tinh-2020-2025.xlsx"


@pytest.fixture()
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    return tmp_path / "data"


@pytest.fixture()
def loaded(db: psycopg.Connection, db_dsn: str, data_dir: Path) -> psycopg.Connection:
    """Catalog, two sample spreadsheets, one evaluation and its alerts."""
    from chitieu.alerts.lifecycle import sync_alerts
    from chitieu.catalog.loader import load_catalog
    from chitieu.evaluate.engine import evaluate
    from chitieu.ingest.pipeline import ingest_file

    with psycopg.connect(db_dsn) as conn:
        load_catalog(conn)
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        for name in ("bao-cao-chi-tieu-57-2020-2024.xlsx", "mau-nhap-lieu-4-tinh-2020-2025.xlsx"):
            ingest_file(conn, SAMPLES / name)
        now = datetime(2026, 11, 1, tzinfo=UTC)
        evaluate(conn, as_of=now)
        sync_alerts(conn, now)
    return db


@pytest.fixture()
def client(db_dsn: str) -> Iterator[TestClient]:
    with TestClient(create_app()) as c:
        yield c


def test_health_reports_timescaledb(client: TestClient) -> None:
    res = client.get("/health")
    assert res.status_code == 200
    body = res.json()
    assert body["database"] is True and body["timescaledb"] and body["postgresql"]


def test_health_is_503_when_the_database_is_down() -> None:
    app = create_app("postgresql://nobody:x@127.0.0.1:9/none?connect_timeout=1")
    with TestClient(app) as c:
        res = c.get("/health")
    assert res.status_code == 503
    assert res.json()["error"]["vi"] and res.json()["error"]["en"]


def test_targets_filter_by_plan_and_jurisdiction_spelling(
    loaded: psycopg.Connection, client: TestClient
) -> None:
    every = client.get("/targets").json()
    assert len(every) > 20
    plan = every[0]["plan_id"]
    by_plan = client.get("/targets", params={"plan": plan}).json()
    assert by_plan and {t["plan_id"] for t in by_plan} == {plan}
    row = loaded.execute("SELECT count(*) FROM targets WHERE jurisdiction_id = 'old-58'").fetchone()
    assert row is not None and row[0] > 0
    for spelling in ("old-58", "NINH THUAN", "Tỉnh Ninh Thuận"):
        found = client.get("/targets", params={"jurisdiction": spelling}).json()
        assert {t["jurisdiction_id"] for t in found} >= {"old-58"}, spelling
        assert len([t for t in found if t["jurisdiction_id"] == "old-58"]) == row[0]
    assert every[0]["source"]["quote"]
    missing = client.get("/targets", params={"jurisdiction": "Atlantis"})
    assert missing.status_code == 404 and missing.json()["detail"]["vi"]


def test_status_and_alerts(loaded: psycopg.Connection, client: TestClient) -> None:
    status = client.get("/status").json()
    latest = loaded.execute(
        "SELECT count(DISTINCT (target_id, coalesce(check_year, -1))) FROM evaluations"
    ).fetchone()
    assert latest is not None and len(status) == latest[0] > 0
    assert all(s["status"] for s in status)
    # Before the first evaluation nothing was known.
    assert client.get("/status", params={"as_of": "2000-01-01T00:00:00Z"}).json() == []
    alerts = client.get("/alerts", params={"state": "firing"}).json()
    firing = loaded.execute("SELECT count(*) FROM alerts WHERE state = 'firing'").fetchone()
    assert firing is not None and len(alerts) == firing[0]
    assert client.get("/alerts", params={"state": "nonsense"}).status_code == 422


def test_observations_current_and_as_of(loaded: psycopg.Connection, client: TestClient) -> None:
    params = {"jurisdiction": "Ninh Thuận", "indicator": "digital_economy_share_grdp"}
    current = client.get("/observations", params=params).json()
    y2024 = [o for o in current if o["period_start"] == "2024-01-01" and o["period_type"] == "Y"]
    # The template's final 2024 figure replaced the wide report's estimate (a later vintage).
    assert len(y2024) == 1 and y2024[0]["status"] == "final"
    loaded_at = loaded.execute(
        """SELECT min(loaded_at) FROM observations
           WHERE jurisdiction_id = 'old-58' AND indicator_code = 'digital_economy_share_grdp'
             AND period_start = '2024-01-01'"""
    ).fetchone()
    assert loaded_at is not None
    earlier = client.get("/observations", params={**params, "as_of": loaded_at[0].isoformat()}).json()
    old = [o for o in earlier if o["period_start"] == "2024-01-01"]
    assert len(old) == 1 and old[0]["status"] == "provisional" and old[0]["value"] != y2024[0]["value"]


def test_upload_archives_previews_and_queues(
    db: psycopg.Connection, client: TestClient, data_dir: Path
) -> None:
    content = TEMPLATE.read_bytes()
    res = client.post(
        "/uploads", files={"file": ("../mẫu nhập liệu.xlsx", content, "application/octet-stream")}
    )
    assert res.status_code == 202, res.text
    body = res.json()
    assert body["sha256"] == hashlib.sha256(content).hexdigest()
    assert body["queued"] is True and body["already_loaded"] is False
    queued = Path(body["inbox_path"])
    assert queued.parent == data_dir / "inbox" and queued.read_bytes() == content
    assert Path(body["archived_path"]).read_bytes() == content
    preview = body["preview"]
    assert preview["summary"]["status"] == "dry_run" and preview["observations_total"] > 100
    assert len(preview["observations"]) == 20 and preview["rejected_total"] == 2
    # A dry run writes nothing.
    assert db.execute("SELECT count(*) FROM load_batches").fetchone() == (0,)


def test_unreadable_upload_is_archived_but_not_queued(client: TestClient, data_dir: Path) -> None:
    res = client.post("/uploads", files={"file": ("bang.xlsx", b"not a spreadsheet\n", "text/plain")})
    assert res.status_code == 422
    body = res.json()
    assert body["queued"] is False and " / " in body["error"]
    assert Path(body["archived_path"]).exists()
    assert not (data_dir / "inbox").exists() or list((data_dir / "inbox").iterdir()) == []
    assert client.post("/uploads", files={"file": ("empty.csv", b"", "text/csv")}).status_code == 422
