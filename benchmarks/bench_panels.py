"""Every Grafana panel query (macros expanded) timed on the 1M-observation benchmark set.

Builds the evaluation benchmark's data set (`benchmarks.dataset.build_dataset`) in a dedicated
database, evaluates it with the real engine, adds what the set lacks for these panels (province and
national series aggregated from the communes, load batches, rejected rows, alerts, outbox rows),
refreshes the dashboard precomputed tables, then runs each panel's SQL through the read-only role:
one warm-up and five timed runs, median and max reported. Goal: every panel under 100 ms.
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from chitieu.dashboards import inventory, macros, views
from chitieu.settings import get_settings

DATABASE = "chitieu_bench_panels"
GOAL_MS = 100.0
RUNS = 5


def _readonly(dsn: str) -> psycopg.Connection:
    settings = get_settings()
    params = conninfo_to_dict(dsn)
    params["user"] = settings.readonly_db_user
    params["password"] = settings.readonly_db_password.get_secret_value()
    return psycopg.connect(make_conninfo(**params), autocommit=True)  # type: ignore[arg-type]


def _extras(conn: psycopg.Connection) -> None:
    """What the commune-level set lacks for the panels: provincial and national series, operations rows."""
    conn.execute(
        """INSERT INTO observations (jurisdiction_id, indicator_code, period_start, period_type, value,
            status,
                                     source_id, fetched_at, loaded_at)
           SELECT coalesce(j.parent_id, 'vn'), o.indicator_code, o.period_start, 'Y', avg(o.value), 'final',
                  'bench', min(o.fetched_at), min(o.loaded_at)
           FROM observations o JOIN jurisdictions j ON j.id = o.jurisdiction_id
           WHERE j.level = 'commune'
           GROUP BY 1, 2, 3
           UNION ALL
           SELECT 'vn', o.indicator_code, o.period_start, 'Y', avg(o.value), 'final', 'bench',
                  min(o.fetched_at), min(o.loaded_at)
           FROM observations o JOIN jurisdictions j ON j.id = o.jurisdiction_id
           WHERE j.level = 'commune'
           GROUP BY 2, 3
           ON CONFLICT DO NOTHING"""
    )
    conn.execute(
        """INSERT INTO load_batches (source_id, file_name, fetched_at, started_at, finished_at, status,
                                     rows_read, rows_loaded, rows_revised, rows_rejected)
           SELECT 'bench', 'file-' || g || '.xlsx', now() - g * interval '1 hour',
               now() - g * interval '1 hour',
                  now() - g * interval '1 hour' + interval '4 seconds', 'loaded', 1000, 950, g % 7, 50
           FROM generate_series(1, 2000) AS g"""
    )
    conn.execute(
        """INSERT INTO rejected_rows (batch_id, source_id, file_name, row_num, reason_code, reason_vi,
            reason_en,
                                      rejected_at)
           SELECT b.id, 'bench', b.file_name, r, 'not_a_number', 'Giá trị không phải là số',
                  'Value is not a number', b.started_at
           FROM load_batches b CROSS JOIN generate_series(1, 50) AS r"""
    )
    conn.execute(
        """INSERT INTO alerts (fingerprint, rule, plan_id, jurisdiction_id, indicator_code,
            target_year, target_id,
                               state, summary_vi, first_fired_at, last_seen_at)
           SELECT 'behind_trajectory|' || e.target_id, 'behind_trajectory', e.plan_id, e.jurisdiction_id,
                  e.indicator_code, e.target_year, e.target_id, 'firing', 'Chậm so với lộ trình', now(), now()
           FROM dash_evaluations_latest e
           WHERE e.status IN ('limited_progress', 'deteriorating') AND e.check_year_key = 0
           LIMIT 5000
           ON CONFLICT DO NOTHING"""
    )
    conn.execute(
        """INSERT INTO notification_outbox (dedup_key, alert_id, event, channel, target_url, subject,
            body, status)
           SELECT 'a' || a.id || '|firing', a.id, 'firing', 'email-' || (a.id % 5), 'mailto://x', 's', 'b',
                  (ARRAY['pending', 'sent', 'sent', 'dead'])[1 + a.id % 4]
           FROM alerts a"""
    )
    conn.execute("ANALYZE")


def _prepare() -> tuple[str, list[str]]:
    from benchmarks import dataset

    dsn, lines = dataset.evaluated_database(DATABASE)
    with psycopg.connect(dsn, autocommit=True) as conn:
        if not conn.execute("SELECT count(*) FROM load_batches").fetchone()[0]:  # type: ignore[index]
            _extras(conn)
            views.refresh(conn)
        counts = conn.execute(
            """SELECT (SELECT count(*) FROM observations), (SELECT count(*) FROM dash_evaluations_latest),
                      (SELECT count(*) FROM alerts), (SELECT count(*) FROM rejected_rows)"""
        ).fetchone()
        assert counts is not None
        lines.append(
            f"panels read: {counts[0]:,} observations, {counts[1]:,} latest evaluations, "
            f"{counts[2]:,} alerts, "
            f"{counts[3]:,} rejected rows"
        )
    return dsn, lines


def _variables(conn: psycopg.Connection) -> dict[str, object]:
    row = conn.execute(
        """SELECT t.plan_id, t.jurisdiction_id FROM targets t
           WHERE t.indicator_code = 'bench_i01' ORDER BY t.id LIMIT 1"""
    ).fetchone()
    assert row is not None, "benchmark set has no targets"
    plans = [r[0] for r in conn.execute("SELECT id FROM plans ORDER BY id").fetchall()]
    # Worst cases: every plan selected ("All") on the overview; one commune on the detail board.
    return {"plan": plans, "jurisdiction": row[1], "indicator": "bench_i01", "one_plan": row[0]}


def run() -> list[str]:

    dsn, lines = _prepare()
    time_range = {"time_from": datetime(2015, 1, 1, tzinfo=UTC), "time_to": datetime(2046, 1, 1, tzinfo=UTC)}
    results: list[tuple[float, float, int, str]] = []
    with _readonly(dsn) as conn:
        variables = _variables(conn)
        detail_vars = {**variables, "plan": [variables["one_plan"]]}
        queries = inventory.panel_queries() + inventory.variable_queries() + inventory.alert_queries()
        for q in queries:
            values = detail_vars if q.dashboard_uid == "chitieu-indicator-detail" else variables
            sql = macros.expand(q.raw_sql, variables=values, **time_range)  # type: ignore[arg-type]
            rows = len(conn.execute(sql).fetchall())  # warm-up
            samples = []
            for _ in range(RUNS):
                started = time.perf_counter()
                conn.execute(sql).fetchall()
                samples.append((time.perf_counter() - started) * 1000)
            results.append((statistics.median(samples), max(samples), rows, q.label))
    for median, worst, rows, label in sorted(results, reverse=True):
        flag = "" if median < GOAL_MS else "  <-- over goal"
        lines.append(f"{median:7.1f} ms median, {worst:7.1f} ms max, {rows:6d} rows  {label}{flag}")
    over = [r for r in results if r[0] >= GOAL_MS]
    lines.append(
        f"{len(results)} queries; slowest median {max(r[0] for r in results):.1f} ms; "
        + ("all under 100 ms" if not over else f"{len(over)} over 100 ms")
    )
    return lines
