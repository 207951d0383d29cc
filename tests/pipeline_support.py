"""What two runs of the pipeline must agree on, as checksums of the chitieu tables (shared by the
order-independence and the executor tests)."""

from __future__ import annotations

from typing import LiteralString

import psycopg
from psycopg import sql

# the figures and what was concluded from them, without the columns that are clocks, serial ids or
# machine-specific by nature
TABLES: dict[str, LiteralString] = {
    "observations": "SELECT jurisdiction_id, indicator_code, period_type, period_start, period_end, value, "
    "status, source_id, file_sha256, file_name, sheet, row_num, cell, source_priority FROM observations",
    "observations_current": "SELECT jurisdiction_id, indicator_code, period_type, period_start, value, "
    "status, source_id, file_sha256, cell FROM observations_current",
    "observation_claims": "SELECT jurisdiction_id, indicator_code, period_type, period_start, value, "
    "status, source_id, file_sha256, cell, current FROM observation_claims",
    "evaluations": "SELECT target_id, plan_id, jurisdiction_id, data_jurisdiction_id, indicator_code, "
    "target_year, check_year, status, progress_ratio, expected_value, current_value, projected_value "
    "FROM dash_evaluations_latest",
    "alerts": "SELECT fingerprint, rule, state, severity, labels::text FROM alerts",
    "outbox": "SELECT a.fingerprint, o.event, o.channel, o.status FROM notification_outbox o "
    "JOIN alerts a ON a.id = o.alert_id",
}


# The vintage history (`observations`) depends on load order by nature — a provisional figure loaded
# before the final one was current for a while; every claim received, which one is current, and all
# that follows from them must not.
ORDER_INDEPENDENT = tuple(t for t in TABLES if t != "observations")


def checksums(dsn: str, tables: tuple[str, ...] = ORDER_INDEPENDENT) -> dict[str, tuple[int, str]]:
    """Row count and md5 of the sorted rows of each table's query."""
    out = {}
    with psycopg.connect(dsn) as conn:
        for name in tables:
            row = conn.execute(
                sql.SQL(
                    "SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) "
                    "FROM ({}) AS t"
                ).format(sql.SQL(TABLES[name]))
            ).fetchone()
            assert row is not None
            out[name] = (int(row[0]), str(row[1]))
    return out
