"""The overview's counters read the precomputed counts (dash_status_summary): they equal the latest
statuses counted one by one, on the samples evaluated, and again after a milestone's year and the
vocabulary's groups moved rows between the counters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

from chitieu.dashboards import views
from chitieu.evaluate.engine import evaluate

pytestmark = pytest.mark.db

# The counters as they were defined over the latest statuses themselves.
COUNTED = """
SELECT s.plan_id, count(*),
       count(*) FILTER (WHERE s.status_grp = 'achieved'), count(*) FILTER (WHERE s.status_grp = 'on_track'),
       count(*) FILTER (WHERE s.status_grp = 'behind'), count(*) FILTER (WHERE s.status_grp = 'no_data'),
       count(*) FILTER (WHERE s.status_grp = 'not_due'),
       count(*) FILTER (WHERE s.status IN ('milestone_pending', 'milestone_overdue')
                          AND s.target_year <= extract(year FROM current_date))
FROM dash_status_latest s WHERE s.check_year IS NULL GROUP BY s.plan_id ORDER BY 1"""
PRECOMPUTED = """
SELECT plan_id, targets, achieved, on_track, behind, no_data, not_due, milestones_due
FROM dash_headline_counts ORDER BY 1"""
# The behind-trajectory rule's counts (an overdue milestone has its own rule).
BEHIND_COUNTED = """
SELECT plan_id, jurisdiction_id, count(*) FROM dash_status_latest
WHERE check_year IS NULL AND status_grp = 'behind' AND status <> 'milestone_overdue'
GROUP BY 1, 2 ORDER BY 1, 2"""
BEHIND_PRECOMPUTED = "SELECT plan_id, jurisdiction_id, targets FROM dash_behind_trajectory ORDER BY 1, 2"


def _both(db: psycopg.Connection) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    behind = db.execute(BEHIND_PRECOMPUTED).fetchall()
    assert behind == db.execute(BEHIND_COUNTED).fetchall()
    return db.execute(PRECOMPUTED).fetchall(), db.execute(COUNTED).fetchall()


def test_headline_counts_equal_the_statuses_counted(loaded_db: psycopg.Connection) -> None:
    db = loaded_db
    evaluate(db, as_of=datetime.now(UTC))
    views.refresh(db)
    precomputed, counted = _both(db)
    assert precomputed == counted
    totals = [sum(r[i] for r in counted) for i in range(1, 8)]
    assert totals[0] > 100
    assert sum(1 for t in totals[1:6] if t) >= 3  # several groups present, not all in one

    # A milestone due in a later year moved to last year's: one more due. A group's statuses moved
    # to another group: the counts move.
    milestone = db.execute(
        """SELECT target_id, target_year FROM dash_evaluations_latest
           WHERE headline_status IN ('milestone_pending', 'milestone_overdue') AND check_year IS NULL
           ORDER BY target_year DESC, target_id LIMIT 1"""
    ).fetchone()
    year = db.execute("SELECT extract(year FROM current_date)::int").fetchone()
    assert year is not None
    this_year = year[0]
    assert milestone is not None
    assert milestone[1] > this_year
    due = sum(r[7] for r in counted)
    db.execute(
        "UPDATE dash_evaluations_latest SET target_year = %s WHERE target_id = %s",
        (this_year - 1, milestone[0]),
    )
    db.execute("SELECT dash_refresh_summary()")
    precomputed, counted = _both(db)
    assert precomputed == counted
    assert sum(r[7] for r in counted) == due + 1
    # The vocabulary's groups changed: the counts follow without a refresh.
    db.execute("UPDATE status_vocabulary SET grp = 'behind' WHERE grp = 'on_track'")
    precomputed, counted = _both(db)
    assert precomputed == counted
    assert sum(r[3] for r in counted) == 0
