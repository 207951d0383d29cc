"""A run after a load evaluates only the targets whose series changed, and its complete results are
those of a full evaluation: the rows, the derived values, the fingerprint and the dashboards' table."""

from __future__ import annotations

import concurrent.futures
import json
import math
import time
from typing import Any

import pandas as pd
import psycopg
import pytest

from chitieu.dashboards import views
from chitieu.db import migrate
from chitieu.evaluate.compute import RESULT_COLUMNS
from chitieu.evaluate.engine import compute_results, evaluate
from test_evaluate_engine import add_obs, add_target, setup_catalog, ts

pytestmark = pytest.mark.db

T1 = ts("2025-10-01T06:00:00")
T2 = ts("2025-10-01T08:00:00")
T3 = ts("2025-10-01T10:00:00")
KEY = ["target_id", "jurisdiction_id", "check_year"]


def _normal(value: object) -> object:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):  # numpy scalars
        return _normal(value.item())
    return value


def _stored(db: psycopg.Connection, run_id: int) -> list[dict[str, Any]]:
    cur = db.execute(
        f"SELECT {', '.join(RESULT_COLUMNS)} FROM evaluation_run_rows(%s)",  # noqa: S608 - constant names
        (run_id,),
    )
    rows = [dict(zip(RESULT_COLUMNS, (_normal(v) for v in r), strict=True)) for r in cur.fetchall()]
    return sorted(rows, key=lambda r: (r["target_id"], r["jurisdiction_id"], r["check_year"] or 0))


def _computed(db: psycopg.Connection, as_of: Any) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    frame = compute_results(db, as_of)
    rows = []
    for rec in frame[RESULT_COLUMNS].to_dict("records"):
        row = {k: _normal(v) for k, v in rec.items()}
        for col in ("lineage", "inputs"):
            if isinstance(row[col], str):
                row[col] = json.loads(row[col])
        row["flags"] = list(row["flags"])
        rows.append(row)
    rows.sort(key=lambda r: (r["target_id"], r["jurisdiction_id"], r["check_year"] or 0))
    return rows, frame.attrs["derived"]


def _derived(db: psycopg.Connection, run_id: int) -> list[tuple[Any, ...]]:
    return db.execute(
        """SELECT jurisdiction_id, indicator_code, year, value, rule, reason FROM derived_observations
           WHERE run_id = %s ORDER BY 1, 2, 3""",
        (run_id,),
    ).fetchall()


def _dash(db: psycopg.Connection) -> dict[str, list[tuple[Any, ...]]]:
    """What the dashboards' refresh writes (the latest rows, the run they stand for, their JSON items,
    their counts) and the view the panels read."""
    return {
        name: db.execute(query).fetchall()
        for name, query in {
            "rows": "SELECT * FROM dash_evaluations_latest ORDER BY 1, 2, 3",
            "run": "SELECT run_id, as_of FROM dash_latest_run",
            "items": "SELECT * FROM dash_status_items ORDER BY 1, 2, 3",
            "summary": "SELECT * FROM dash_status_summary ORDER BY 1, 2, 3, 4, 5",
            "view": "SELECT * FROM dash_status_latest ORDER BY target_id, jurisdiction_id, check_year",
        }.items()
    }


def _places(db: psycopg.Connection) -> dict[tuple[str, ...], tuple[Any, ...]]:
    """Where each latest row and its item are stored (a row rewritten moves)."""
    return {
        tuple(r[:3]): r[3:]
        for r in db.execute(
            """SELECT d.target_id, d.jurisdiction_id, d.check_year_key, d.ctid::text, s.ctid::text
               FROM dash_evaluations_latest d
               JOIN dash_status_items s USING (target_id, jurisdiction_id, check_year_key)"""
        )
    }


@pytest.fixture
def evaluated(db: psycopg.Connection) -> psycopg.Connection:
    """Two provinces merged into one, a relative target, an every-year one, a rank, a count and a
    milestone, evaluated once (a full run) at T1."""
    setup_catalog(db)
    db.execute("UPDATE indicators SET aggregation = 'mean' WHERE code IN ('share', 'budget')")
    db.execute(
        """INSERT INTO indicators (code, name_vi, name_en, unit, value_type, direction, aggregation)
           VALUES ('other', 'Khác', 'Other', 'số', 'count', 'higher', 'sum')"""
    )
    add_target(db, id="nt.share", indicator_code="share", value=50, baseline_year=2020, baseline_value=20)
    add_target(db, id="kh.share", plan_id="kh", jurisdiction_id="new-56", indicator_code="share", value=60)
    add_target(
        db,
        id="kh.budget",
        plan_id="kh",
        jurisdiction_id="new-56",
        indicator_code="budget",
        value=0.5,
        relative_to="national",
    )
    add_target(db, id="nt.budget", indicator_code="budget", value=3, every_year=True)
    add_target(db, id="nt.dti", indicator_code="dti", kind="rank", operator="<=", value=10)
    add_target(db, id="nt.smart", indicator_code="smart_city", kind="count", value=5)
    add_target(
        db,
        id="kh.smart",
        plan_id="kh",
        jurisdiction_id="new-56",
        indicator_code="smart_city",
        kind="milestone",
        due_date="2027-12-31",
        milestone_object="Đô thị thông minh",
    )
    for jur, base in (("old-58", 20.0), ("old-56", 30.0)):
        for year in range(2020, 2025):
            add_obs(db, jur, "share", year, base + 2 * (year - 2020), "2025-10-01T01:00:00")
            add_obs(db, jur, "budget", year, 2.0 + 0.3 * (year - 2020), "2025-10-01T01:00:00")
    for year in (2025,):
        add_obs(db, "new-56", "share", year, 45, "2025-10-01T01:00:00")
        add_obs(db, "new-56", "budget", year, 3.6, "2025-10-01T01:00:00")
    for year in range(2020, 2026):
        add_obs(db, "vn", "budget", year, 2.5 + 0.2 * (year - 2020), "2025-10-01T01:00:00")
    add_obs(db, "old-58", "dti", 2023, 40, "2025-10-01T01:00:00")
    add_obs(db, "old-58", "dti", 2024, 30, "2025-10-01T01:00:00")
    add_obs(db, "old-58", "smart_city", 2024, 2, "2025-10-01T01:00:00")
    first = evaluate(db, T1)
    assert first.scope == "all"
    assert not first.reused
    views.refresh(db)
    return db


def _assert_same_as_full(db: psycopg.Connection, run_id: int, as_of: Any) -> None:
    rows, derived = _computed(db, as_of)
    assert _stored(db, run_id) == rows
    stored = _derived(db, run_id)
    expected = sorted(
        (j, c, int(y), _normal(v), r, _normal(reason))
        for j, c, y, v, r, reason in derived[
            ["jurisdiction_id", "indicator_code", "year", "value", "rule", "reason"]
        ].itertuples(index=False)
    )
    assert stored == expected
    # The dashboards' table after the partial refresh equals a full refresh; the rows of the targets
    # the run did not evaluate were not written again.
    before = _places(db)
    views.refresh(db)
    partial = _dash(db)
    assert partial["run"] == [(run_id, as_of)]
    evaluated = {r[0] for r in db.execute("SELECT target_id FROM evaluations WHERE run_id = %s", (run_id,))}
    after = _places(db)
    kept = {key for key in before if key[0] not in evaluated}
    assert kept
    assert {key: after[key] for key in kept} == {key: before[key] for key in kept}
    assert all(after[key] != before.get(key) for key in after if key[0] in evaluated)
    db.execute("SELECT dash_refresh()")
    assert _dash(db) == partial


def test_a_correction_of_a_predecessor_and_of_the_national_figure(evaluated: psycopg.Connection) -> None:
    db = evaluated
    # old-56's 2023 share corrected: new-56's comparable series (their mean) changes, hence the
    # targets judged on it (kh.share, and nt.share through its successor); the national budget of
    # 2025 revised: the relative target kh.budget.
    add_obs(db, "old-56", "share", 2023, 10.0, "2025-10-01T07:00:00")
    add_obs(db, "vn", "budget", 2025, 9.0, "2025-10-01T07:00:00")
    run = evaluate(db, T2)
    assert (run.scope, run.reused, run.base_run_id) == ("changes", False, 1)
    evaluated_ids = {
        r[0]
        for r in db.execute("SELECT DISTINCT target_id FROM evaluations WHERE run_id = %s", (run.run_id,))
    }
    assert {"kh.share", "nt.share", "kh.budget"} <= evaluated_ids
    assert not evaluated_ids & {"nt.dti", "kh.smart"}
    assert run.evaluated_targets == len(evaluated_ids) < 7
    _assert_same_as_full(db, run.run_id, T2)
    # A full evaluation finds the same results: nothing new is recorded.
    again = evaluate(db, T2, full=True)
    assert (again.reused, again.run_id, again.scope) == (True, run.run_id, "all")
    assert again.status_counts == run.status_counts
    assert again.flag_counts == run.flag_counts


def test_partial_runs_chain_and_a_milestone_done(evaluated: psycopg.Connection) -> None:
    db = evaluated
    add_obs(db, "old-58", "dti", 2024, 8, "2025-10-01T07:00:00")
    second = evaluate(db, T2)
    assert second.scope == "changes"
    assert second.evaluated_targets == 1
    _assert_same_as_full(db, second.run_id, T2)
    add_obs(db, "new-56", "smart_city", 2025, 1, "2025-10-01T09:00:00")
    third = evaluate(db, T3)
    assert (third.scope, third.base_run_id) == ("changes", second.run_id)
    statuses = dict(
        db.execute("SELECT target_id, status FROM evaluation_run_rows(%s)", (third.run_id,)).fetchall()
    )
    assert statuses["kh.smart"] == "milestone_done"
    _assert_same_as_full(db, third.run_id, T3)
    assert evaluate(db, T3, full=True).reused


def test_one_refresh_after_two_partial_runs_and_after_a_full_run_of_another_chain(
    evaluated: psycopg.Connection,
) -> None:
    db = evaluated
    add_obs(db, "old-58", "dti", 2024, 8, "2025-10-01T07:00:00")
    second = evaluate(db, T2)
    add_obs(db, "new-56", "smart_city", 2025, 1, "2025-10-01T09:00:00")
    third = evaluate(db, T3)
    assert (second.scope, third.scope, third.base_run_id) == ("changes", "changes", second.run_id)
    # The table still stands for the first run: both runs' targets are replaced at once.
    assert db.execute("SELECT dash_refresh_changes()").fetchone() == (True,)
    partial = _dash(db)
    assert partial["run"] == [(third.run_id, T3)]
    db.execute("SELECT dash_refresh()")
    assert _dash(db) == partial
    # Another day's run is a full one, of no chain holding the table's run: a partial refresh
    # declines, changing nothing, and views.refresh makes a full one.
    db.execute("UPDATE targets SET value = 55 WHERE id = 'nt.share'")
    other = evaluate(db, ts("2025-10-02T07:00:00"))
    assert other.scope == "all"
    assert db.execute("SELECT dash_refresh_changes()").fetchone() == (False,)
    unchanged = _dash(db)
    assert unchanged["rows"] == partial["rows"]
    assert unchanged["run"] == partial["run"]
    assert unchanged["items"] == partial["items"]
    views.refresh(db)
    refreshed = _dash(db)
    assert refreshed["run"] == [(other.run_id, ts("2025-10-02T07:00:00"))]
    db.execute("SELECT dash_refresh()")
    assert _dash(db) == refreshed


def test_a_refresh_waits_for_one_running_and_then_has_nothing_to_do(
    evaluated: psycopg.Connection, db_dsn: str
) -> None:
    db = evaluated
    add_obs(db, "old-58", "dti", 2024, 8, "2025-10-01T07:00:00")
    assert evaluate(db, T2).scope == "changes"
    with psycopg.connect(db_dsn) as first, psycopg.connect(db_dsn, autocommit=True) as second:
        assert first.execute("SELECT dash_refresh_changes()").fetchone() == (True,)  # not committed
        pid = second.info.backend_pid
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            waiting = pool.submit(lambda: second.execute("SELECT dash_refresh_changes()").fetchone())
            deadline = time.monotonic() + 30
            while db.execute(
                "SELECT wait_event_type IS DISTINCT FROM 'Lock' FROM pg_stat_activity WHERE pid = %s", (pid,)
            ).fetchone() != (False,):
                assert time.monotonic() < deadline, "the second refresh never waited"
                time.sleep(0.05)
            first.commit()
            assert waiting.result(timeout=30) == (True,)
    partial = _dash(db)
    db.execute("SELECT dash_refresh()")
    assert _dash(db) == partial


def test_nothing_changed_reuses_and_another_day_or_catalog_evaluates_everything(
    evaluated: psycopg.Connection,
) -> None:
    db = evaluated
    same = evaluate(db, T2)
    assert same.reused
    assert same.run_id == 1
    # A figure of a series no target reads: nothing to evaluate again, the results are the same.
    add_obs(db, "old-58", "other", 2024, 1, "2025-10-01T07:00:00")
    quiet = evaluate(db, T2)
    assert (quiet.reused, quiet.scope, quiet.evaluated_targets) == (True, "changes", 0)
    assert evaluate(db, ts("2025-10-02T06:00:00")).scope == "all"  # another day
    db.execute("UPDATE targets SET value = 55 WHERE id = 'nt.share'")
    changed = evaluate(db, ts("2025-10-02T07:00:00"))
    assert changed.scope == "all"
    assert not changed.reused


def test_alerts_synced_for_the_evaluated_targets_match_a_full_sync(evaluated: psycopg.Connection) -> None:
    from chitieu.alerts.lifecycle import sync_alerts

    db = evaluated
    sync_alerts(db, T1, routes=[])
    add_obs(db, "old-56", "share", 2024, 60.0, "2025-10-01T07:00:00")  # new-56's series jumps
    add_obs(db, "old-58", "dti", 2024, 50, "2025-10-01T07:00:00")
    run = evaluate(db, T2)
    assert run.scope == "changes"
    partial = sync_alerts(db, T2, routes=[], evaluated_by=run.run_id)
    states = db.execute("SELECT fingerprint, state, episode FROM alerts ORDER BY 1").fetchall()
    full = sync_alerts(db, T2, routes=[])
    assert db.execute("SELECT fingerprint, state, episode FROM alerts ORDER BY 1").fetchall() == states
    assert (full.opened, full.reopened, full.resolved) == (0, 0, 0)
    assert partial.opened + partial.resolved > 0


def _empty_latest(db: psycopg.Connection) -> None:
    db.execute("TRUNCATE dash_evaluations_latest")  # its items and run go with it (a trigger)
    db.execute("TRUNCATE dash_status_summary")


def test_latest_statuses_emptied_by_a_migration_are_rebuilt_by_migrate(evaluated: psycopg.Connection) -> None:
    db = evaluated
    before = _dash(db)
    assert before["rows"]
    assert before["items"]
    _empty_latest(db)
    assert not db.execute("SELECT 1 FROM dash_status_items").fetchall()
    migrate.migrate(db)
    assert _dash(db) == before
    # Emptied on purpose is not undone when there is no evaluation to show.
    _empty_latest(db)
    db.execute("TRUNCATE evaluation_runs CASCADE")
    migrate.migrate(db)
    assert not db.execute("SELECT 1 FROM dash_evaluations_latest").fetchall()
