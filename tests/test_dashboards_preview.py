"""`chitieu dashboards preview` on the demo data: what `make run` loads (the catalog, every sample
file of samples/inbox, every publisher of samples/publishers served on 127.0.0.1), evaluated and
alerted. Every panel of every dashboard is drawn to a PNG from its own SQL, and every panel has data."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from chitieu.dashboards import build, overview, preview, views
from chitieu.settings import PROJECT_ROOT, get_settings

PNG = b"\x89PNG\r\n\x1a\n"


SAMPLES = PROJECT_ROOT / "samples"


@pytest.fixture
def demo_db(
    loaded_db: psycopg.Connection, db_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[psycopg.Connection]:
    """`loaded_db` (catalog, two sample spreadsheets, evaluation, alerts) plus the rest of the demo."""
    from chitieu.alerts.lifecycle import sync_alerts
    from chitieu.evaluate.engine import evaluate
    from chitieu.ingest.intake import ingest_file, ingest_source
    from chitieu.ingest.specs import load_source_specs, upsert_sources
    from support.publishers import PublisherServer

    with PublisherServer(root=SAMPLES / "publishers") as publishers:
        monkeypatch.setenv("CHITIEU_PUBLISHER_BASE_URL", publishers.url)
        get_settings.cache_clear()
        with psycopg.connect(db_dsn, autocommit=True) as conn:
            upsert_sources(conn)
            for path in sorted((SAMPLES / "inbox").glob("*.xlsx")):
                ingest_file(conn, path)  # the two already loaded are recognised by checksum
            for spec in load_source_specs():
                if spec.url and spec.url.startswith(publishers.url):
                    ingest_source(conn, spec)
            # what the Airflow tasks write about themselves (no Airflow runs here)
            conn.execute(
                """INSERT INTO pipeline_task_runs (dag_id, run_id, task_id, state, run_type, run_after,
                                                   finished_at)
                   VALUES ('ingest', 'manual__demo', 'load', 'success', 'manual', now(), now())"""
            )
            now = datetime.now(UTC)
            evaluate(conn, as_of=now)
            sync_alerts(conn, now)
            views.refresh(conn)
    yield loaded_db
    get_settings.cache_clear()


def test_every_panel_is_drawn_with_data(demo_db: psycopg.Connection, tmp_path: Path) -> None:
    results = preview.render(demo_db, tmp_path, now=datetime.now(UTC))

    expected = {
        (uid, p["id"])
        for uid, m in build.dashboard_models().items()
        for p in m["panels"]
        if p["type"] != "row"
    }
    assert {(r.dashboard_uid, r.panel_id) for r in results} == expected
    assert [r for r in results if r.error] == []
    assert [(r.dashboard_uid, r.title) for r in results if not r.rows] == [], [
        r.title for r in results if not r.rows
    ]
    for r in results:
        assert r.path is not None, r.title
        assert r.path.read_bytes().startswith(PNG), r.title
    for uid in build.dashboard_models():
        assert (tmp_path / uid / "_dashboard.png").read_bytes().startswith(PNG)

    # the scorecard's cells read as Grafana shows them: the verdict's colour, a figure, no raw key
    model = build.dashboard_models()["chitieu-overview"]
    card = next(r for r in results if r.title == overview.PANEL_SCORECARD)
    panel = next(p for p in model["panels"] if p["title"] == card.title)
    frame = card.frames[0]
    shown = []
    for row in frame.rows:
        for name, value in zip(frame.columns, row, strict=True):
            if value and "|" in str(value):
                cell = preview.display_cell(value, preview.field_config(panel, name))
                shown.append((cell.text, cell.background))
    assert len(shown) >= 4 * 3, shown  # three provinces with targets, a figure or "no data" each
    for text, background in shown:
        assert "|" not in text, (text, background)
        assert background is not None, (text, background)
    figures = [t.split()[0] for t, _ in shown if t[0].isdigit()]
    assert figures
    assert any("," in f for f in figures)
    assert not any("." in f for f in figures if len(f) < 6)


@pytest.mark.usefixtures("loaded_db")
def test_cli_preview_writes_the_pictures(tmp_path: Path) -> None:
    from chitieu.cli import app

    result = CliRunner().invoke(app, ["dashboards", "preview", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "chitieu-overview" / "_dashboard.png").exists()
