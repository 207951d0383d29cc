"""Read queries of the API (keyword-only arguments; rows as dicts)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import DictRow, dict_row

from chitieu.textnorm import fold_key

Conn = psycopg.Connection[DictRow]

_PREFIXES = ("tinh ", "t ", "thanh pho ", "tp ")


def _name_key(text: str) -> str:
    key = fold_key(text)
    for prefix in _PREFIXES:
        if key.startswith(prefix) and len(key) > len(prefix):
            return key[len(prefix) :]
    return key


def resolve_jurisdictions(conn: Conn, *, text: str) -> list[str]:
    """Ids matching an id ('old-58'), a code ('58', '058') or a name in any spelling ('NINH THUAN')."""
    rows = conn.execute("SELECT id, code, name, aliases FROM jurisdictions").fetchall()
    wanted = text.strip()
    code = f"{int(wanted):02d}" if wanted.isdigit() else None
    key = _name_key(wanted)
    ids = []
    for row in rows:
        names = [row["name"], *(row["aliases"] or [])]
        if (
            row["id"] == wanted
            or (code is not None and row["code"] == code)
            or any(_name_key(n) == key for n in names)
        ):
            ids.append(row["id"])
    return ids


def targets(conn: Conn, *, plan: str | None, jurisdiction_ids: list[str] | None) -> list[dict[str, Any]]:
    return conn.execute(
        """SELECT t.id, t.plan_id, t.indicator_code, i.name_vi AS indicator_name_vi,
                  i.name_en AS indicator_name_en,
                  i.unit, t.jurisdiction_id, j.name AS jurisdiction_name, j.code AS jurisdiction_code,
                  t.target_year, t.kind, t.operator, t.value, t.value_max, t.every_year, t.parent_target_id,
                  t.relative_to, t.milestone_object, t.due_date, t.baseline_year, t.baseline_value,
                  t.baseline_note, t.lead_agency,
                  json_build_object('document', t.cite_document, 'section', t.cite_section,
                                    'quote', t.cite_quote) AS source
           FROM targets t
           JOIN indicators i ON i.code = t.indicator_code
           JOIN jurisdictions j ON j.id = t.jurisdiction_id
           WHERE (%(plan)s::text IS NULL OR t.plan_id = %(plan)s)
             AND (%(jids)s::text[] IS NULL OR t.jurisdiction_id = ANY(%(jids)s))
           ORDER BY t.plan_id, t.id""",
        {"plan": plan, "jids": jurisdiction_ids},
    ).fetchall()


def latest_status(
    conn: Conn, *, plan: str | None, jurisdiction_ids: list[str] | None, as_of: datetime | None
) -> list[dict[str, Any]]:
    """The latest evaluation of every target (and every checked year) from runs as of `as_of`."""
    return conn.execute(
        """WITH latest AS (
               SELECT DISTINCT ON (e.target_id, coalesce(e.check_year, -1)) e.*
               FROM evaluations e
               WHERE (%(as_of)s::timestamptz IS NULL OR e.evaluated_at <= %(as_of)s)
                 AND (%(plan)s::text IS NULL OR e.plan_id = %(plan)s)
                 AND (%(jids)s::text[] IS NULL OR e.jurisdiction_id = ANY(%(jids)s))
               ORDER BY e.target_id, coalesce(e.check_year, -1), e.evaluated_at DESC, e.run_id DESC
           )
           SELECT l.target_id, l.plan_id, l.jurisdiction_id, j.name AS jurisdiction_name,
                  l.data_jurisdiction_id, l.indicator_code, i.name_vi AS indicator_name_vi, l.target_year,
                  l.check_year, l.status, l.progress_ratio, l.expected_value, l.current_value, l.current_year,
                  l.projected_value, l.will_meet, l.base_year, l.base_value, l.flags, l.lineage,
                  l.run_id, l.evaluated_at, l.as_of
           FROM latest l
           LEFT JOIN jurisdictions j ON j.id = l.jurisdiction_id
           LEFT JOIN indicators i ON i.code = l.indicator_code
           ORDER BY l.plan_id, l.target_id, l.check_year NULLS FIRST""",
        {"plan": plan, "jids": jurisdiction_ids, "as_of": as_of},
    ).fetchall()


def observations(
    conn: Conn,
    *,
    jurisdiction_ids: list[str] | None,
    indicator: str | None,
    as_of: datetime | None,
    limit: int,
) -> list[dict[str, Any]]:
    source = sql.SQL("observations_as_of(%(as_of)s)" if as_of is not None else "observations_current")
    query = sql.SQL(
        """SELECT o.jurisdiction_id, j.name AS jurisdiction_name, j.code AS jurisdiction_code,
                   o.indicator_code,
                   o.period_type, o.period_start, o.period_end, o.value, o.status, o.source_id, o.batch_id,
                   o.file_sha256, o.file_name, o.sheet, o.row_num, o.cell, o.fetched_at, o.loaded_at, o.note
            FROM {source} o
            LEFT JOIN jurisdictions j ON j.id = o.jurisdiction_id
            WHERE (%(jids)s::text[] IS NULL OR o.jurisdiction_id = ANY(%(jids)s))
              AND (%(ind)s::text IS NULL OR o.indicator_code = %(ind)s)
            ORDER BY o.indicator_code, o.jurisdiction_id, o.period_start, o.period_type
            LIMIT %(limit)s"""
    ).format(source=source)
    params = {"jids": jurisdiction_ids, "ind": indicator, "as_of": as_of, "limit": limit}
    return conn.execute(query, params).fetchall()


def alerts(
    conn: Conn,
    *,
    state: str | None,
    rule: str | None,
    jurisdiction_ids: list[str] | None,
    limit: int,
) -> list[dict[str, Any]]:
    return conn.execute(
        """SELECT id, fingerprint, rule, plan_id, jurisdiction_id, indicator_code, target_year, target_id,
                  state, severity, summary_vi, summary_en, labels, detail, first_fired_at, last_seen_at,
                  last_notified_at, resolved_at
           FROM alerts
           WHERE (%(state)s::text IS NULL OR state = %(state)s)
             AND (%(rule)s::text IS NULL OR rule = %(rule)s)
             AND (%(jids)s::text[] IS NULL OR jurisdiction_id = ANY(%(jids)s))
           ORDER BY state, last_seen_at DESC, id
           LIMIT %(limit)s""",
        {"state": state, "rule": rule, "jids": jurisdiction_ids, "limit": limit},
    ).fetchall()


def server_versions(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    row = (
        conn.cursor(row_factory=dict_row)
        .execute(
            """SELECT current_setting('server_version') AS postgresql,
                      (SELECT extversion FROM pg_extension WHERE extname = 'timescaledb') AS timescaledb"""
        )
        .fetchone()
    )
    return dict(row) if row else {}
