"""Loading the catalog into the real TimescaleDB: complete, idempotent, vintage-aware."""

from __future__ import annotations

import shutil
from pathlib import Path

import psycopg
import pytest
import yaml
from typer.testing import CliRunner

from chitieu.catalog import clear_caches
from chitieu.catalog.loader import load_catalog
from chitieu.catalog.plans import load_plans
from chitieu.cli import app
from chitieu.settings import get_settings

pytestmark = pytest.mark.db


@pytest.fixture
def catalog_copy(tmp_path: Path) -> Path:
    dst = tmp_path / "catalog"
    shutil.copytree(get_settings().catalog_dir, dst, ignore=shutil.ignore_patterns("sources", "routes.yaml"))
    clear_caches()
    yield dst  # type: ignore[misc]
    clear_caches()


def _one(db: psycopg.Connection, query: str, *args: object) -> object:
    row = db.execute(query, args).fetchone()
    assert row is not None
    return row[0]


def test_load_is_complete_and_idempotent(db: psycopg.Connection) -> None:
    first = load_catalog(db)
    n_targets = sum(len(p.targets) for p in load_plans())
    assert first["targets"] == n_targets == first["targets_total"]
    assert first["jurisdictions"] == 98  # vn + 63 old + 34 new
    assert _one(db, "SELECT count(*) FROM jurisdictions WHERE id LIKE 'new-%%'") == 34
    assert _one(db, "SELECT count(*) FROM jurisdiction_succession") == 63
    assert (
        _one(
            db,
            "SELECT successor_id FROM jurisdiction_succession WHERE predecessor_id = 'old-52'",
        )
        == "new-52"
    )
    assert _one(db, "SELECT count(*) FROM targets") == n_targets
    assert _one(db, "SELECT count(*) FROM plans") == 5
    assert _one(db, "SELECT kind FROM sources WHERE id = 'plan:ninh-thuan-319-ctr-tu'") == "plan"
    assert _one(
        db,
        "SELECT array_agg(due_dates) FROM reporting_obligations WHERE plan_id = 'ninh-binh-kh-03-nq-cp'"
        " AND recurrence = 'half_yearly'",
    ) == [["06-15", "12-01"]]
    row = db.execute(
        "SELECT operator, value, every_year, parent_target_id, cite_section, phrase FROM targets"
        " WHERE id = 'ninh-thuan-319-ctr-tu.t12'"
    ).fetchone()
    assert row == (">=", 3.0, True, None, "II.2.a", "ít nhất 03% tổng chi ngân sách hằng năm")
    assert _one(db, "SELECT parent_target_id FROM targets WHERE id = 'ninh-thuan-319-ctr-tu.t11'") == (
        "ninh-thuan-319-ctr-tu.t10"
    )
    # Baselines became observations sourced to their plan.
    obs = db.execute(
        "SELECT jurisdiction_id, indicator_code, period_type, period_start::text, period_end::text, value"
        " FROM observations WHERE source_id LIKE 'plan:%%' ORDER BY 1, 2"
    ).fetchall()
    assert ("old-58", "tfp_contribution_growth", "Y", "2024-01-01", None, 42.86) in obs
    assert ("old-58", "pii_rank", "Y", "2024-01-01", None, 18.0) in obs
    assert ("old-52", "pii_rank", "Y", "2024-01-01", None, 22.0) in obs
    assert ("old-52", "tfp_contribution_growth", "R", "2020-01-01", "2025-12-31", 39.6) in obs
    qn = [o for o in obs if o[0] == "old-49"]
    assert len(qn) == 5
    assert all(o[2] == "R" for o in qn)
    assert "year not stated" in str(
        _one(db, "SELECT note FROM observations WHERE indicator_code = 'online_application_rate'")
    )

    second = load_catalog(db)
    changed = {k: v for k, v in second.items() if v and k != "targets_total"}
    assert changed == {}
    assert _one(db, "SELECT count(*) FROM observations") == len(obs)


def test_publisher_revision_is_not_overridden(db: psycopg.Connection) -> None:
    load_catalog(db)
    db.execute(
        "INSERT INTO observations (jurisdiction_id, indicator_code, period_start, period_type, value,"
        " source_id, fetched_at) VALUES ('old-58', 'pii_rank', '2024-01-01', 'Y', 17, 'pii-publisher', now())"
    )
    assert load_catalog(db)["observations"] == 0
    current = _one(
        db,
        "SELECT value FROM observations_current"
        " WHERE jurisdiction_id = 'old-58' AND indicator_code = 'pii_rank'",
    )
    assert current == 17.0


def test_removed_target_and_changed_value(db: psycopg.Connection, catalog_copy: Path) -> None:
    load_catalog(db, catalog_copy)
    path = catalog_copy / "plans" / "quang-nam-60-ctr-tu.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["targets"] = [t for t in doc["targets"] if t["id"] != "quang-nam-60-ctr-tu.t24"]
    doc["baselines"][0]["value"] = 99.5
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    clear_caches()
    counts = load_catalog(db, catalog_copy)
    assert counts["targets_deleted"] == 1
    assert counts["targets"] == 0
    assert counts["observations"] == 1  # a new vintage of the changed baseline, the old one kept
    assert _one(db, "SELECT count(*) FROM targets WHERE id = 'quang-nam-60-ctr-tu.t24'") == 0
    assert (
        _one(
            db,
            "SELECT count(*) FROM observations"
            " WHERE jurisdiction_id = 'old-49' AND indicator_code = 'communes_fiber_share'",
        )
        == 2
    )


def test_cli_load(db_dsn: str) -> None:
    result = CliRunner().invoke(app, ["catalog", "load"])
    assert result.exit_code == 0, result.output
    with psycopg.connect(db_dsn) as conn:
        assert _one(conn, "SELECT count(*) FROM targets") == sum(len(p.targets) for p in load_plans())
    again = CliRunner().invoke(app, ["catalog", "load"])
    assert again.exit_code == 0, again.output
    with psycopg.connect(db_dsn) as conn:  # a second load duplicates nothing
        assert _one(conn, "SELECT count(*) FROM targets") == sum(len(p.targets) for p in load_plans())
        assert _one(conn, "SELECT count(*) FROM jurisdictions") == 98
