"""The evaluation engine against the real database: vintages, idempotent runs, and the rules beyond
the contract (successor lineage, every-year misses, milestones, cohort change, relative targets)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import psycopg
import pytest
from psycopg import sql
from typer.testing import CliRunner

from chitieu.cli import app
from chitieu.evaluate.engine import compute_results, evaluate

pytestmark = pytest.mark.db


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def add_merger(db: psycopg.Connection) -> None:
    """Old Ninh Thuận (old-58) and old Khánh Hòa (old-56) merged into the new Khánh Hòa (new-56) on
    1 July 2025, beside the country (vn)."""
    db.execute(
        """INSERT INTO jurisdictions (id, code, name, level, parent_id, valid_from, valid_to) VALUES
             ('vn', 'VN', 'Việt Nam', 'national', NULL, NULL, NULL),
             ('old-58', '58', 'Ninh Thuận', 'province', 'vn', NULL, '2025-06-30'),
             ('old-56', '56', 'Khánh Hòa', 'province', 'vn', NULL, '2025-06-30'),
             ('new-56', '56', 'Khánh Hòa', 'province', 'vn', '2025-07-01', NULL)"""
    )
    db.execute(
        """INSERT INTO jurisdiction_succession (predecessor_id, successor_id, effective_on, legal_basis)
           VALUES
             ('old-58', 'new-56', '2025-07-01', 'Nghị quyết 202/2025/QH15'),
             ('old-56', 'new-56', '2025-07-01', 'Nghị quyết 202/2025/QH15')"""
    )


def setup_catalog(db: psycopg.Connection) -> None:
    add_merger(db)
    db.execute(
        """INSERT INTO indicators (code, name_vi, name_en, unit, value_type, direction, aggregation) VALUES
             ('share', 'Tỷ lệ', 'Share', '%', 'share_pct', 'higher', 'mean'),
             ('budget', 'Chi NSNN cho KH&CN', 'Budget for S&T', '%', 'share_pct', 'higher', 'mean'),
             ('dti', 'Xếp hạng DTI', 'DTI rank', 'hạng', 'rank', 'lower', 'none'),
             ('smart_city', 'Đô thị thông minh', 'Smart city', 'số', 'count', 'higher', 'sum')"""
    )
    db.execute(
        """INSERT INTO plans (id, document_number, title, issuer, issued_on, jurisdiction_id) VALUES
             ('nt', '319/KH-UBND', 'Kế hoạch Ninh Thuận', 'UBND tỉnh Ninh Thuận', '2024-03-01', 'old-58'),
             ('kh', '100/KH-UBND', 'Kế hoạch Khánh Hòa', 'UBND tỉnh Khánh Hòa', '2025-08-01', 'new-56')"""
    )


def add_target(db: psycopg.Connection, **kw: object) -> None:
    row = {
        "plan_id": "nt",
        "jurisdiction_id": "old-58",
        "target_year": 2030,
        "kind": "level",
        "operator": ">=",
        "every_year": False,
        "cite_document": "319/KH-UBND",
        "cite_quote": "…",
        **kw,
    }
    query = sql.SQL("INSERT INTO targets ({}) VALUES ({})").format(
        sql.SQL(", ").join(map(sql.Identifier, row)), sql.SQL(", ").join(sql.Placeholder() * len(row))
    )
    db.execute(query, tuple(row.values()))


def add_obs(
    db: psycopg.Connection,
    jur: str,
    ind: str,
    year: int,
    value: float,
    loaded: str,
    *,
    status: str = "final",
    fetched: str | None = None,
    period_type: str = "Y",
    period_start: date | None = None,
) -> None:
    db.execute(
        """INSERT INTO observations (jurisdiction_id, indicator_code, period_start, period_type, value,
                                     status, source_id, fetched_at, loaded_at)
           VALUES (%s, %s, %s, %s, %s, %s, 'test', %s, %s)""",
        (
            jur,
            ind,
            period_start or date(year, 1, 1),
            period_type,
            value,
            status,
            ts(fetched or loaded),
            ts(loaded),
        ),
    )


def rows_of(db: psycopg.Connection, run_id: int, target_id: str) -> list[dict]:
    cur = db.execute(
        """SELECT * FROM evaluation_run_rows(%s) WHERE target_id = %s ORDER BY check_year NULLS FIRST""",
        (run_id, target_id),
    )
    names = [d.name for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


@pytest.fixture
def catalog(db: psycopg.Connection) -> psycopg.Connection:
    setup_catalog(db)
    return db


def test_as_of_before_and_after_a_revision_differ(catalog):
    db = catalog
    add_target(db, id="nt.share", indicator_code="share", value=50, baseline_year=2020, baseline_value=20)
    add_obs(db, "old-58", "share", 2021, 26, "2022-03-01")
    add_obs(db, "old-58", "share", 2024, 30, "2025-03-01")
    add_obs(db, "old-58", "share", 2024, 22, "2025-09-01")  # revision of 2024

    before = evaluate(db, ts("2025-06-01"))
    after = evaluate(db, ts("2025-10-01"))
    assert before.run_id != after.run_id
    assert not after.reused

    (b,) = rows_of(db, before.run_id, "nt.share")
    # base 20 (2020) -> 30 (2024): (1.5^(1/4) - 1) / (2.5^(1/10) - 1) = 0.106682 / 0.095958 = 1.11175
    assert b["status"] == "on_track"
    assert b["progress_ratio"] == pytest.approx(1.11175, rel=1e-4)
    assert (b["current_value"], b["current_year"]) == (30, 2024)
    assert "revision_driven" not in b["flags"]
    assert b["inputs"]["observations"] == [[2021, 26], [2024, 30]]
    assert b["inputs"]["base"] == {"year": 2020, "value": 20, "from": "baseline"}

    (a,) = rows_of(db, after.run_id, "nt.share")
    # 20 -> 22: (1.1^(1/4) - 1) / 0.095958 = 0.024114 / 0.095958 = 0.2513: limited progress,
    # and only because of the revised 2024 figure.
    assert a["status"] == "limited_progress"
    assert a["progress_ratio"] == pytest.approx(0.2513, rel=1e-3)
    assert a["current_value"] == 22
    assert "revision_driven" in a["flags"]
    assert a["inputs"]["revised_years"] == [2024]
    assert a["inputs"]["vintages"]["max_loaded_at"].startswith("2025-09-01")


def test_rerun_on_the_same_data_records_nothing_new(catalog):
    db = catalog
    add_target(db, id="nt.share", indicator_code="share", value=50, baseline_year=2020, baseline_value=20)
    add_obs(db, "old-58", "share", 2024, 30, "2025-03-01")
    first = evaluate(db, ts("2025-06-01"))
    second = evaluate(db, ts("2025-06-02"))
    assert not first.reused
    assert second.reused
    assert second.run_id == first.run_id
    assert db.execute("SELECT count(*) FROM evaluation_runs").fetchone()[0] == 1
    assert db.execute("SELECT count(*) FROM evaluations").fetchone()[0] == 1
    notes = db.execute("SELECT notes FROM evaluation_runs").fetchone()[0]
    assert notes["last_confirmed_as_of"].startswith("2025-06-02")

    add_obs(db, "old-58", "share", 2025, 35, "2025-06-10")
    third = evaluate(db, ts("2025-06-15"))
    assert not third.reused
    assert third.run_id != first.run_id
    assert db.execute("SELECT count(*) FROM evaluation_runs").fetchone()[0] == 2


def test_latest_view_ignores_a_back_dated_run(catalog):
    db = catalog
    add_target(db, id="nt.share", indicator_code="share", value=50, baseline_year=2020, baseline_value=20)
    add_obs(db, "old-58", "share", 2024, 30, "2025-03-01")
    add_obs(db, "old-58", "share", 2025, 60, "2025-09-01")
    today = evaluate(db, ts("2025-10-01"))
    history = evaluate(db, ts("2025-06-01"))
    assert history.run_id > today.run_id
    latest = db.execute("SELECT run_id, status FROM evaluations_latest").fetchall()
    assert latest == [(today.run_id, "achieved")]


def test_ceased_province_is_continued_on_its_successors_series_alone(catalog):
    # Never spliced: once the successor publishes, a share target of the ceased province is judged
    # on the successor's series only (here its restated 2023 figure and its 2025 figure), and the
    # plan's baseline (a figure of Ninh Thuận alone) is not compared with Khánh Hòa's figures.
    db = catalog
    add_target(db, id="nt.share", indicator_code="share", value=50, baseline_year=2020, baseline_value=20)
    add_obs(db, "old-58", "share", 2023, 28, "2024-03-01")
    add_obs(db, "old-58", "share", 2024, 30, "2025-03-01")
    add_obs(db, "new-56", "share", 2023, 99, "2025-12-01")  # restated for the merged territory
    add_obs(db, "new-56", "share", 2025, 40, "2026-03-01")
    run = evaluate(db, ts("2026-06-01"))
    (r,) = rows_of(db, run.run_id, "nt.share")
    assert (r["current_value"], r["current_year"]) == (40, 2025)
    assert r["jurisdiction_id"] == "old-58"
    assert r["data_jurisdiction_id"] == "new-56"
    assert r["series_basis"] == "successor_comparable"
    assert "successor_data" in r["flags"]
    assert r["inputs"]["observations"] == [[2023, 99], [2025, 40]]
    assert r["lineage"]["predecessor_id"] == "old-58"
    assert r["lineage"]["successor_id"] == "new-56"
    assert r["lineage"]["effective_on"] == "2025-07-01"
    assert r["lineage"]["territory_id"] == "new-56"
    assert [p["source"] for p in r["lineage"]["points"]] == ["published", "published"]
    # 99 -> 40 over 2 years against 99 -> 50 over 7: both CAGRs negative, R = -1 · ... < 0.
    assert (r["base_year"], r["base_value"]) == (2023, 99)
    assert r["status"] == "deteriorating"
    assert r["headline_status"] == "deteriorating"
    # Before the successor publishes anything, the target stays on Ninh Thuận's own series.
    run = evaluate(db, ts("2025-06-01"))
    (r,) = rows_of(db, run.run_id, "nt.share")
    assert r["series_basis"] == "own"
    assert r["data_jurisdiction_id"] == "old-58"
    assert r["inputs"]["observations"] == [[2023, 28], [2024, 30]]


def test_every_year_constraint_gives_one_missed_row_per_failed_year(catalog):
    db = catalog
    add_target(db, id="nt.budget", indicator_code="budget", value=3, every_year=True)
    add_obs(db, "old-58", "budget", 2022, 1.0, "2023-03-01")  # before the plan (2024): not checked
    add_obs(db, "old-58", "budget", 2024, 2.5, "2025-03-01")
    add_obs(db, "new-56", "budget", 2025, 3.2, "2026-03-01")
    add_obs(db, "new-56", "budget", 2026, 2.9, "2026-12-01")
    run = evaluate(db, ts("2026-12-31"))
    rows = rows_of(db, run.run_id, "nt.budget")
    assert [r["check_year"] for r in rows] == [None, 2024, 2026]
    assert [r["status"] for r in rows[1:]] == ["missed", "missed"]
    assert [r["current_value"] for r in rows[1:]] == [2.5, 2.9]
    assert rows[1]["data_jurisdiction_id"] == "old-58"
    assert rows[2]["data_jurisdiction_id"] == "new-56"
    assert "successor_data" in rows[2]["flags"]
    assert rows[2]["inputs"]["threshold"] == 3
    # Each year is checked on the territory of that year; the overall row's trajectory is on
    # Khánh Hòa's series alone (never from Ninh Thuận's 1.0 to Khánh Hòa's 2.9): 3.2 (2025) -> 2.9
    # (2026) moves away from 3, R = (2.9/3.2 - 1) / |(3/3.2)^(1/5) - 1| < 0.
    assert rows[0]["status"] == "deteriorating"
    assert rows[0]["progress_ratio"] == pytest.approx((2.9 / 3.2 - 1) / (1 - (3 / 3.2) ** 0.2), rel=1e-6)
    assert (rows[0]["current_value"], rows[0]["current_year"]) == (2.9, 2026)
    assert rows[0]["inputs"]["observations"] == [[2025, 3.2], [2026, 2.9]]
    # Missed in a year checked: the headline is behind whatever the trajectory says.
    assert rows[0]["headline_status"] == "missed"
    assert rows[0]["headline_rule"] == "every_year_missed"


def test_milestones_done_pending_overdue(catalog):
    db = catalog
    add_target(
        db,
        id="kh.done",
        plan_id="kh",
        jurisdiction_id="new-56",
        indicator_code="smart_city",
        kind="milestone",
        operator=None,
        value=None,
        due_date=date(2025, 12, 31),
    )
    add_target(
        db,
        id="nt.overdue",
        indicator_code="budget",
        kind="milestone",
        operator=None,
        value=None,
        due_date=date(2025, 12, 31),
        milestone_object="Trung tâm dữ liệu",
    )
    add_target(
        db,
        id="nt.pending",
        indicator_code="dti",
        kind="milestone",
        operator=None,
        value=None,
        due_date=date(2027, 6, 30),
    )
    add_obs(
        db, "new-56", "smart_city", 2025, 1, "2025-11-20", period_type="M", period_start=date(2025, 11, 1)
    )
    add_obs(db, "old-58", "budget", 2025, 0.5, "2025-11-20")  # a figure below 1 does not complete it
    run = evaluate(db, ts("2026-03-01"))
    status = {
        r[0]: r[1] for r in db.execute("SELECT target_id, status FROM evaluation_run_rows(%s)", (run.run_id,))
    }
    assert status == {
        "kh.done": "milestone_done",
        "nt.overdue": "milestone_overdue",
        "nt.pending": "milestone_pending",
    }
    (done,) = rows_of(db, run.run_id, "kh.done")
    assert done["inputs"]["done_on"] == "2025-11-01"
    assert done["current_year"] == 2025
    # Before the completion was loaded, the same milestone was pending.
    early = compute_results(db, ts("2025-11-01"))
    assert early.set_index("target_id").loc["kh.done", "status"] == "milestone_pending"


def test_rank_cohort_change_is_flagged(catalog):
    db = catalog
    add_target(
        db,
        id="kh.dti",
        plan_id="kh",
        jurisdiction_id="new-56",
        indicator_code="dti",
        kind="rank",
        operator="<=",
        value=10,
        baseline_year=2020,
        baseline_value=40,
    )
    add_target(
        db,
        id="nt.dti",
        indicator_code="dti",
        kind="rank",
        operator="<=",
        value=10,
        baseline_year=2020,
        baseline_value=40,
    )
    # DTI 2024, published October 2025: ranks the 34 new provinces.
    add_obs(db, "new-56", "dti", 2024, 12, "2025-10-20", fetched="2025-10-15")
    # DTI 2023 ranked the 63.
    add_obs(db, "old-58", "dti", 2023, 30, "2024-09-01")
    run = evaluate(db, ts("2025-06-01"))
    (nt_before,) = rows_of(db, run.run_id, "nt.dti")
    assert "cohort_changed" not in nt_before["flags"]
    run = evaluate(db, ts("2025-12-01"))
    (kh,) = rows_of(db, run.run_id, "kh.dti")
    assert "cohort_changed" in kh["flags"]
    (nt,) = rows_of(db, run.run_id, "nt.dti")
    assert "cohort_changed" not in nt["flags"]
    assert nt["current_year"] == 2023
    # A 2024 rank of Ninh Thuận quoted by its (pre-merger) plan and loaded in 2026 is still a rank
    # among the 63: Ninh Thuận was never ranked among the 34.
    add_obs(db, "old-58", "dti", 2024, 18, "2026-01-10")
    run = evaluate(db, ts("2026-02-01"))
    (nt,) = rows_of(db, run.run_id, "nt.dti")
    assert nt["current_year"] == 2024
    assert "cohort_changed" not in nt["flags"]
    (kh,) = rows_of(db, run.run_id, "kh.dti")
    assert "cohort_changed" in kh["flags"]


def test_relative_target_uses_the_national_figure_of_the_same_year(catalog):
    db = catalog
    add_target(db, id="nt.rel", indicator_code="share", operator=">", value=0, relative_to="national")
    add_obs(db, "old-58", "share", 2023, 48, "2024-03-01")
    add_obs(db, "old-58", "share", 2024, 55, "2025-03-01", status="provisional")
    add_obs(db, "vn", "share", 2023, 45, "2024-03-01")
    add_obs(db, "vn", "share", 2024, 56, "2025-03-01")
    add_obs(db, "vn", "share", 2025, 50, "2026-03-01")  # not the same year as the province's latest
    run = evaluate(db, ts("2026-06-01"))
    (r,) = rows_of(db, run.run_id, "nt.rel")
    # 55 is not above 56 (national 2024), so not achieved; base 48 (2023) -> 55 (2024) against
    # 48 -> 56 by 2030: R = (55/48 - 1) / ((56/48)^(1/7) - 1) = 0.145833 / 0.022266 = 6.5496.
    assert r["status"] == "on_track"
    assert r["progress_ratio"] == pytest.approx(0.145833 / 0.022266, rel=1e-3)
    assert (r["current_value"], r["current_year"]) == (55, 2024)
    assert r["inputs"]["national"] == {"year": 2024, "value": 56, "margin": 0, "effective_value": 56}
    assert {"relative_national", "provisional_data"} <= set(r["flags"])

    assert "revision_driven" not in r["flags"]

    add_obs(db, "vn", "share", 2024, 54, "2026-04-01")  # national 2024 revised down
    run = evaluate(db, ts("2026-06-01"))
    (r,) = rows_of(db, run.run_id, "nt.rel")
    assert r["status"] == "achieved"
    assert "revision_driven" in r["flags"]  # only the national revision changed it


def test_relative_target_without_a_national_figure_is_not_judged(catalog):
    db = catalog
    add_target(db, id="nt.rel", indicator_code="budget", operator=">", value=0, relative_to="national")
    add_obs(db, "old-58", "budget", 2023, 1.0, "2024-03-01")
    add_obs(db, "old-58", "budget", 2024, 2.0, "2025-03-01")
    add_obs(db, "vn", "budget", 2023, 1.5, "2024-03-01")  # none for 2024, the province's latest year
    run = evaluate(db, ts("2025-06-01"))
    (r,) = rows_of(db, run.run_id, "nt.rel")
    assert r["status"] == "insufficient_data"
    assert r["progress_ratio"] is None
    assert r["expected_value"] is None
    assert r["will_meet"] is None
    assert r["inputs"]["national"] == {"year": 2024, "value": None, "margin": 0, "effective_value": None}


def test_share_of_a_parent_target_is_flagged(catalog):
    db = catalog
    add_target(db, id="nt.budget", indicator_code="budget", value=3)
    add_target(db, id="nt.budget.society", indicator_code="share", value=60, parent_target_id="nt.budget")
    add_obs(db, "old-58", "share", 2024, 65, "2025-03-01")
    run = evaluate(db, ts("2025-06-01"))
    (r,) = rows_of(db, run.run_id, "nt.budget.society")
    assert r["status"] == "achieved"
    assert "parent_share" in r["flags"]
    assert r["inputs"]["parent_target_id"] == "nt.budget"
    (parent,) = rows_of(db, run.run_id, "nt.budget")
    assert parent["status"] == "no_data"
    assert parent["flags"] == []


@pytest.mark.usefixtures("db_dsn")
def test_cli_evaluate_and_status(catalog):
    db = catalog
    add_target(db, id="nt.share", indicator_code="share", value=50, baseline_year=2020, baseline_value=20)
    add_target(db, id="kh.share", plan_id="kh", jurisdiction_id="new-56", indicator_code="share", value=10)
    add_obs(db, "old-58", "share", 2024, 30, "2025-03-01")
    add_obs(db, "new-56", "share", 2025, 12, "2026-03-01")
    runner = CliRunner()
    out = runner.invoke(app, ["evaluate", "--as-of", "2026-06-01", "--json"])
    assert out.exit_code == 0, out.output
    summary = json.loads(out.output)
    assert summary["targets_count"] == 2
    assert summary["reused"] is False

    out = runner.invoke(app, ["status", "--jurisdiction", "ninh thuan", "--format", "json"])
    assert out.exit_code == 0, out.output
    records = json.loads(out.stdout)
    assert [r["target_id"] for r in records] == ["nt.share"]

    out = runner.invoke(app, ["status", "--plan", "kh", "--format", "csv"])
    assert out.exit_code == 0, out.output
    lines = out.stdout.strip().splitlines()
    assert lines[0].startswith("plan_id,target_id")
    assert len(lines) == 2
    assert "achieved" in lines[1]

    # As of a date before the 2025 figure was loaded, kh.share had no data.
    out = runner.invoke(app, ["status", "--plan", "kh", "--as-of", "2025-12-01", "--format", "json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)[0]["status"] == "no_data"

    out = runner.invoke(app, ["status", "--format", "table"])
    assert out.exit_code == 0
    assert "nt.share" in out.stdout

    out = runner.invoke(app, ["status", "--jurisdiction", "Atlantis"])
    # A usage error naming the unknown place (exit 2), not a crash (exit 1 with a traceback).
    assert out.exit_code == 2, out.output
    assert "Atlantis" in out.output, out.output


def test_catalog_without_any_observation(catalog):
    db = catalog
    add_target(db, id="nt.share", indicator_code="share", value=50, baseline_year=2020, baseline_value=20)
    add_target(db, id="nt.budget", indicator_code="budget", value=3, every_year=True)
    add_target(db, id="nt.ms", indicator_code="smart_city", kind="milestone", operator=None, value=None)
    run = evaluate(db, ts("2026-01-01"))
    got = dict(db.execute("SELECT target_id, status FROM evaluation_run_rows(%s)", (run.run_id,)).fetchall())
    assert got == {"nt.share": "no_data", "nt.budget": "no_data", "nt.ms": "milestone_pending"}


def test_empty_catalog_gives_an_empty_run_and_no_latest_rows(db):
    summary = evaluate(db, ts("2026-01-01"))
    assert summary.results_count == 0
    assert summary.run_id is not None
    assert db.execute("SELECT count(*) FROM evaluations").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM evaluations_latest").fetchone()[0] == 0
