"""Refresh what the dashboards precompute (migration 040, function dash_refresh)."""

from __future__ import annotations

import time

import psycopg

MATERIALIZED_VIEWS = ("dash_source_periods_mv",)


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
    timings["dash_evaluations_latest"] = time.perf_counter() - started
    for name in MATERIALIZED_VIEWS:
        started = time.perf_counter()
        with conn.transaction():
            conn.execute(f"REFRESH MATERIALIZED VIEW CONCURRENTLY {name}")  # names are constants above
        timings[name] = time.perf_counter() - started
    if not conn.autocommit:
        conn.commit()
    return timings
