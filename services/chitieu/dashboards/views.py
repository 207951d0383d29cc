"""Refresh what the dashboards precompute (migration 040, function dash_refresh)."""

from __future__ import annotations

import time

import psycopg
from psycopg import sql

MATERIALIZED_VIEWS = ("dash_source_periods_mv",)
# The latest statuses, the run they stand for, their JSON items, their counts (migrations 040, 120).
TABLES = ("dash_evaluations_latest", "dash_latest_run", "dash_status_items", "dash_status_summary")


def refresh(conn: psycopg.Connection) -> dict[str, float]:
    """Recompute the dashboards' tables and materialized views; returns seconds per step.

    The latest-evaluation tables are rewritten in one transaction by dash_refresh() (readers keep the
    previous rows until it commits), or after a partial evaluation run only the rows of the targets it
    evaluated and their counts (dash_refresh_changes(): every other row stays untouched, the run the
    table stands for is one row); the small source-freshness view is refreshed CONCURRENTLY. The
    pipeline calls this after each evaluation (and after loads, for source freshness).
    """
    timings: dict[str, float] = {}
    started = time.perf_counter()
    with conn.transaction():
        row = conn.execute("SELECT dash_refresh_changes()").fetchone()
        partial = bool(row and row[0])
        if not partial:
            conn.execute("SELECT dash_refresh()")
    if not partial:
        # The planner must know dash_latest_run holds one row: it is cross-joined with every row.
        conn.execute(sql.SQL("ANALYZE {}").format(sql.SQL(", ").join(map(sql.Identifier, TABLES))))
    timings["dash_evaluations_latest"] = time.perf_counter() - started
    for name in MATERIALIZED_VIEWS:
        started = time.perf_counter()
        with conn.transaction():
            conn.execute(f"REFRESH MATERIALIZED VIEW CONCURRENTLY {name}")  # names are constants above
        timings[name] = time.perf_counter() - started
    if not conn.autocommit:
        conn.commit()
    return timings
