"""The API's read queries (async psycopg; rows as dicts, or a statuses page as the JSON PostgreSQL
wrote; keyword-only arguments).

Paginated queries take the decoded cursor `after` and fetch `limit + 1` rows in key order, so the
caller can tell whether another page exists.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection, sql
from psycopg.abc import AdaptContext, Buffer
from psycopg.adapt import Loader
from psycopg.rows import dict_row, tuple_row

from chitieu.exports import statuses as status_table

Conn = AsyncConnection[Any]
Rows = list[dict[str, Any]]


async def _all(conn: Conn, query: str | sql.Composed, params: dict[str, Any]) -> Rows:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, params)
        return await cur.fetchall()


_SUCCESSION = sql.SQL(
    """
    coalesce((SELECT json_agg(json_build_object('id', s.successor_id, 'name', js.name,
                                                'effective_on', s.effective_on, 'legal_basis', s.legal_basis)
                              ORDER BY s.successor_id)
              FROM jurisdiction_succession s JOIN jurisdictions js ON js.id = s.successor_id
              WHERE s.predecessor_id = j.id), '[]') AS successors,
    coalesce((SELECT json_agg(json_build_object('id', s.predecessor_id, 'name', jp.name,
                                                'effective_on', s.effective_on, 'legal_basis', s.legal_basis)
                              ORDER BY s.predecessor_id)
              FROM jurisdiction_succession s JOIN jurisdictions jp ON jp.id = s.predecessor_id
              WHERE s.successor_id = j.id), '[]') AS predecessors"""
)


async def jurisdictions(
    conn: Conn, *, ids: list[str] | None, level: str | None, on: Any, after: list[Any] | None, limit: int
) -> Rows:
    return await _all(
        conn,
        sql.SQL(
            """SELECT j.id, j.code, j.name, j.level, j.parent_id, j.valid_from, j.valid_to, j.aliases,
                   {succession}
            FROM jurisdictions j
            WHERE (%(ids)s::text[] IS NULL OR j.id = ANY(%(ids)s))
              AND (%(level)s::text IS NULL OR j.level = %(level)s)
              AND (%(on)s::date IS NULL OR ((j.valid_from IS NULL OR j.valid_from <= %(on)s)
                                           AND (j.valid_to IS NULL OR j.valid_to >= %(on)s)))
              AND (%(after)s::text IS NULL OR j.id > %(after)s)
            ORDER BY j.id
            LIMIT %(limit)s"""
        ).format(succession=_SUCCESSION),
        {"ids": ids, "level": level, "on": on, "after": after[0] if after else None, "limit": limit + 1},
    )


_INDICATOR_COLUMNS = sql.SQL(
    """code, name_vi, name_en, aliases, unit, value_type, direction, aggregation, min_value,
    max_value, plan_specific, needs_review, description"""
)


async def indicators(conn: Conn, *, code: str | None = None, plan: str | None = None) -> Rows:
    return await _all(
        conn,
        sql.SQL(
            """SELECT {columns} FROM indicators i
            WHERE (%(code)s::text IS NULL OR i.code = %(code)s)
              AND (%(plan)s::text IS NULL
                   OR EXISTS (SELECT 1 FROM targets t
                              WHERE t.indicator_code = i.code AND t.plan_id = %(plan)s))
            ORDER BY i.code"""
        ).format(columns=_INDICATOR_COLUMNS),
        {"code": code, "plan": plan},
    )


async def plans(conn: Conn, *, plan_id: str | None = None) -> Rows:
    return await _all(
        conn,
        """SELECT p.id, p.document_number, p.title, p.issuer, p.issued_on, p.jurisdiction_id,
                  j.name AS jurisdiction_name, p.kind, p.horizon_year,
                  (SELECT count(*) FROM targets t WHERE t.plan_id = p.id)::int AS targets,
                  coalesce((SELECT json_agg(json_build_object(
                                'code', o.code, 'description', o.description,
                                'recurrence', o.recurrence, 'due_dates', o.due_dates,
                                'first_year', o.first_year, 'recipient', o.recipient)
                                ORDER BY o.code)
                            FROM reporting_obligations o WHERE o.plan_id = p.id),
                           '[]') AS reporting_obligations
           FROM plans p JOIN jurisdictions j ON j.id = p.jurisdiction_id
           WHERE %(id)s::text IS NULL OR p.id = %(id)s
           ORDER BY p.id""",
        {"id": plan_id},
    )


TARGET_SELECT = sql.SQL(
    """
    SELECT t.id, t.plan_id, t.indicator_code, i.name_vi AS indicator_name_vi, i.name_en AS indicator_name_en,
           i.unit, t.jurisdiction_id, j.name AS jurisdiction_name, t.target_year, t.kind, t.operator, t.value,
           t.value_max, t.every_year, t.parent_target_id, t.relative_to, t.milestone_object, t.due_date,
           t.baseline_year, t.baseline_value, t.baseline_note, t.lead_agency, t.needs_review,
           json_build_object('document', t.cite_document, 'section', t.cite_section,
                             'quote', t.cite_quote) AS citation
    FROM targets t
    JOIN indicators i ON i.code = t.indicator_code
    JOIN jurisdictions j ON j.id = t.jurisdiction_id"""
)


async def targets(
    conn: Conn,
    *,
    target_id: str | None = None,
    plan: str | None = None,
    jurisdiction_ids: list[str] | None = None,
    indicator: str | None = None,
    after: list[Any] | None = None,
    limit: int = 1_000_000,
) -> Rows:
    return await _all(
        conn,
        sql.SQL(
            """{select}
            WHERE (%(id)s::text IS NULL OR t.id = %(id)s)
              AND (%(plan)s::text IS NULL OR t.plan_id = %(plan)s)
              AND (%(jids)s::text[] IS NULL OR t.jurisdiction_id = ANY(%(jids)s))
              AND (%(ind)s::text IS NULL OR t.indicator_code = %(ind)s)
              AND (%(after)s::text IS NULL OR t.id > %(after)s)
            ORDER BY t.id
            LIMIT %(limit)s"""
        ).format(select=TARGET_SELECT),
        {
            "id": target_id,
            "plan": plan,
            "jids": jurisdiction_ids,
            "ind": indicator,
            "after": after[0] if after else None,
            "limit": limit + 1,
        },
    )


async def series(
    conn: Conn, *, jurisdiction_id: str, indicator: str, as_of: datetime | None, every_vintage: bool
) -> Rows:
    """One jurisdiction × indicator: the latest vintage of each figure as of `as_of` (now when None),
    or every vintage loaded by then."""
    pick = sql.SQL("" if every_vintage else "DISTINCT ON (o.period_type, o.period_start)")
    query = sql.SQL(
        """SELECT {pick} o.period_type, o.period_start, o.period_end, o.value, o.status, o.loaded_at,
                  o.source_id, o.batch_id, o.file_sha256, o.file_name, o.sheet, o.row_num, o.cell,
                  o.fetched_at, o.note
           FROM observations o
           WHERE o.jurisdiction_id = %(jid)s AND o.indicator_code = %(ind)s
             AND (%(as_of)s::timestamptz IS NULL OR o.loaded_at <= %(as_of)s)
           ORDER BY o.period_type, o.period_start, o.loaded_at DESC"""
    ).format(pick=pick)
    return await _all(conn, query, {"jid": jurisdiction_id, "ind": indicator, "as_of": as_of})


async def run_as_of(conn: Conn, as_of: datetime) -> int | None:
    """The run whose statuses were current at `as_of`: of the runs finished by then, the one with the
    latest as_of (a back-dated re-run never displaced the statuses of its day)."""
    async with conn.cursor() as cur:
        await cur.execute(
            """SELECT r.id FROM evaluation_runs r
               WHERE r.finished_at IS NOT NULL AND r.finished_at <= %s
                 AND EXISTS (SELECT 1 FROM evaluations e WHERE e.run_id = r.id)
               ORDER BY r.as_of DESC, r.id DESC LIMIT 1""",
            (as_of,),
        )
        row = await cur.fetchone()
    return int(row["id"]) if row else None


@functools.lru_cache(maxsize=256)
def _statuses_query(past_run: bool, given: frozenset[str], limit: int) -> bytes:
    """The statuses page's statement for a filter combination and page size, composed once per
    process (composing it anew cost a quarter of the Python time of an uncached page)."""
    # ORDER BY the plain columns: a row value there is not matched to the primary key, and every
    # page would sort the whole table. limit + 1 rows tell whether another page follows; written
    # into the query, as with a parameter there PostgreSQL costs a generic plan for a tenth of the
    # table and keeps planning every execution anew (tens of milliseconds over the hypertable).
    item, rows = status_table.page(past_run, given)
    return (
        sql.SQL(
            """SELECT string_agg(p.item, ',' ORDER BY p.n) FILTER (WHERE p.n <= %(limit)s),
                  count(*) > %(limit)s,
                  max(p.k0) FILTER (WHERE p.n = %(limit)s),
                  max(p.k1) FILTER (WHERE p.n = %(limit)s),
                  max(p.k2) FILTER (WHERE p.n = %(limit)s)
           FROM (SELECT row_number() OVER (ORDER BY {key}) AS n,
                        l.target_id AS k0, l.jurisdiction_id AS k1, l.check_year_key AS k2, {item} AS item
                 {rows}
                 ORDER BY {key}
                 LIMIT {fetch}) p"""
        )
        .format(
            key=status_table.KEY,
            item=item,
            rows=rows,
            fetch=sql.Literal(int(limit) + 1),
        )
        .as_bytes(None)
    )


class _Utf8Loader(Loader):
    """A text value as UTF-8 bytes: a page of JSON is passed through, and decoding ~90 KB into a
    str only to encode it again costs more than the rest of its handling in Python. Taken as
    received when the connection's encoding is UTF-8 (the databases we create)."""

    def __init__(self, oid: int, context: AdaptContext | None = None) -> None:
        super().__init__(oid, context)
        self._encoding = self.connection.info.encoding if self.connection is not None else "utf-8"

    def load(self, data: Buffer) -> bytes:
        if self._encoding == "utf-8":
            return bytes(data)
        return bytes(data).decode(self._encoding).encode()


@dataclass(frozen=True)
class JsonPage:
    items: bytes  # the JSON array of the page's rows, as PostgreSQL wrote it
    last_key: list[Any] | None  # the key of its last row when another page follows


async def statuses(
    conn: Conn,
    *,
    run_id: int | None,
    plan: str | None,
    jurisdiction_ids: list[str] | None,
    indicator: str | None,
    statuses: list[str] | None,
    headlines: list[str] | None = None,
    after: list[Any] | None,
    limit: int,
) -> JsonPage:
    """A page of the latest statuses, or of the rows of one past run (chitieu.exports.statuses), as
    the JSON array of their items in one row."""
    a0, a1, a2 = after or (None, None, None)
    params = {
        "run": run_id,
        "plan": plan,
        "jids": jurisdiction_ids,
        "ind": indicator,
        "statuses": statuses,
        "headlines": headlines,
        "a0": a0,
        "a1": a1,
        "a2": a2,
        "limit": limit,
    }
    given = {name for name in status_table.FILTERS if params.get(name) is not None} | (
        {"after"} if after else set()
    )
    query = _statuses_query(run_id is not None, frozenset(given), limit)
    async with conn.cursor(row_factory=tuple_row) as cur:
        cur.adapters.register_loader("text", _Utf8Loader)
        # Prepared at once (each filter combination and page size is its own statement): after a
        # few executions PostgreSQL keeps a generic plan and stops planning over the hypertable.
        await cur.execute(query, params, prepare=True)
        row = await cur.fetchone()
    assert row is not None  # an aggregate without GROUP BY always answers one row
    items, more, k0, k1, k2 = row
    key = [k0.decode(), k1.decode(), k2] if more else None
    return JsonPage(b"[" + (items or b"") + b"]", key)


_ALERT_COLUMNS = sql.SQL(
    """id, fingerprint, rule, plan_id, jurisdiction_id, indicator_code, target_year, target_id,
    state, severity, summary_vi, summary_en, labels, detail, first_fired_at, last_seen_at, last_notified_at,
    resolved_at, silenced_by"""
)


async def alerts(
    conn: Conn,
    *,
    alert_id: int | None = None,
    state: str | None = None,
    rule: str | None = None,
    jurisdiction_ids: list[str] | None = None,
    plan: str | None = None,
    after: list[Any] | None = None,
    limit: int = 1_000_000,
) -> Rows:
    """Newest first: key (id descending)."""
    return await _all(
        conn,
        sql.SQL(
            """SELECT {columns} FROM alerts
            WHERE (%(id)s::bigint IS NULL OR id = %(id)s)
              AND (%(state)s::text IS NULL OR state = %(state)s)
              AND (%(rule)s::text IS NULL OR rule = %(rule)s)
              AND (%(plan)s::text IS NULL OR plan_id = %(plan)s)
              AND (%(jids)s::text[] IS NULL OR jurisdiction_id = ANY(%(jids)s))
              AND (%(after)s::bigint IS NULL OR id < %(after)s)
            ORDER BY id DESC
            LIMIT %(limit)s"""
        ).format(columns=_ALERT_COLUMNS),
        {
            "id": alert_id,
            "state": state,
            "rule": rule,
            "plan": plan,
            "jids": jurisdiction_ids,
            "after": after[0] if after else None,
            "limit": limit + 1,
        },
    )


async def server_versions(conn: Conn) -> dict[str, Any]:
    rows = await _all(
        conn,
        """SELECT current_setting('server_version') AS postgresql,
                  (SELECT extversion FROM pg_extension WHERE extname = 'timescaledb') AS timescaledb""",
        {},
    )
    return rows[0] if rows else {}


async def applied_migrations(conn: Conn) -> dict[str, str]:
    """version -> checksum of the migrations the database has applied."""
    exists = await _all(conn, "SELECT to_regclass('schema_migrations') IS NOT NULL AS present", {})
    if not exists[0]["present"]:
        return {}
    rows = await _all(conn, "SELECT version, checksum FROM schema_migrations", {})
    return {r["version"]: r["checksum"] for r in rows}
