"""`chitieu catalog load`: idempotent upsert of the catalog into the database.

Each upsert only touches a row whose content differs (`IS DISTINCT FROM`), so the counts returned are
real changes and a second load of the same catalog returns zeros. Targets (and reporting obligations)
removed from a plan file are deleted; plans removed from the catalog are deleted with their targets.
Baselines stated in plans become observations with source `plan:<plan-id>` under vintage semantics.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from chitieu.catalog.indicators import load_indicators
from chitieu.catalog.jurisdictions import load_jurisdictions
from chitieu.catalog.plans import Baseline, Plan, Target, load_plans


def _upsert(conn: psycopg.Connection, table: str, key: tuple[str, ...], row: dict[str, Any]) -> int:
    cols = list(row)
    updates = [c for c in cols if c not in key]
    name = sql.Identifier(table)
    conflict: sql.Composable = sql.SQL("DO NOTHING")
    if updates:
        conflict = sql.SQL("DO UPDATE SET {sets} WHERE ({old}) IS DISTINCT FROM ({new})").format(
            sets=sql.SQL(", ").join(
                sql.SQL("{c} = EXCLUDED.{c}").format(c=sql.Identifier(c)) for c in updates
            ),
            old=sql.SQL(", ").join(sql.Identifier(table, c) for c in updates),
            new=sql.SQL(", ").join(sql.Identifier("excluded", c) for c in updates),
        )
    query = sql.SQL("INSERT INTO {t} ({cols}) VALUES ({values}) ON CONFLICT ({key}) {conflict}").format(
        t=name,
        cols=sql.SQL(", ").join(map(sql.Identifier, cols)),
        values=sql.SQL(", ").join(map(sql.Placeholder, cols)),
        key=sql.SQL(", ").join(map(sql.Identifier, key)),
        conflict=conflict,
    )
    cur = conn.execute(query, row)
    return max(cur.rowcount, 0)


def _jsonb(value: Any) -> Any:
    from psycopg.types.json import Jsonb

    return Jsonb(value)


def plan_source_id(plan_id: str) -> str:
    return f"plan:{plan_id}"


def load_catalog(conn: psycopg.Connection, catalog_dir: Path | None = None) -> dict[str, int]:
    """Upsert jurisdictions, succession, indicators, plans, obligations, targets and plan baselines.

    Returns the number of rows changed per kind (all zero when the DB already matches the catalog),
    plus `targets_total`.
    """
    jurisdictions = load_jurisdictions(catalog_dir)
    indicators = load_indicators(catalog_dir)
    plans = load_plans(catalog_dir)
    counts = dict.fromkeys(
        (
            "jurisdictions",
            "succession",
            "indicators",
            "plans",
            "plans_deleted",
            "reporting_obligations",
            "reporting_obligations_deleted",
            "targets",
            "targets_deleted",
            "sources",
            "observations",
        ),
        0,
    )
    with conn.transaction():
        # Parents first: `vn` before the provinces that reference it.
        for j in sorted(jurisdictions, key=lambda j: (j.parent_id is not None, j.id)):
            counts["jurisdictions"] += _upsert(
                conn,
                "jurisdictions",
                ("id",),
                {
                    "id": j.id,
                    "code": j.code,
                    "name": j.name,
                    "level": j.level,
                    "parent_id": j.parent_id,
                    "valid_from": j.valid_from,
                    "valid_to": j.valid_to,
                    "aliases": list(j.aliases),
                },
            )
        for pred, succ, eff, basis in jurisdictions.succession:
            counts["succession"] += _upsert(
                conn,
                "jurisdiction_succession",
                ("predecessor_id", "successor_id"),
                {"predecessor_id": pred, "successor_id": succ, "effective_on": eff, "legal_basis": basis},
            )
        for ind in indicators:
            counts["indicators"] += _upsert(
                conn,
                "indicators",
                ("code",),
                ind.as_row(),
            )
        plan_ids = [p.id for p in plans]
        cur = conn.execute("DELETE FROM plans WHERE NOT (id = ANY(%s))", (plan_ids,))
        counts["plans_deleted"] = max(cur.rowcount, 0)
        for plan in plans:
            _load_plan(conn, plan, counts)
        counts["targets_total"] = sum(len(p.targets) for p in plans)
    return counts


def _load_plan(conn: psycopg.Connection, plan: Plan, counts: dict[str, int]) -> None:
    counts["plans"] += _upsert(
        conn,
        "plans",
        ("id",),
        {
            "id": plan.id,
            "document_number": plan.document_number,
            "title": " ".join(plan.title.split()),
            "issuer": plan.issuer,
            "issued_on": plan.issued_on,
            "issued_on_note": plan.issued_on_note,
            "jurisdiction_id": plan.jurisdiction,
            "kind": plan.kind,
            "horizon_year": plan.horizon_year,
            "source_file": plan.source_file,
            "notes": plan.notes,
            "unquantified": _jsonb([c.model_dump() for c in plan.unquantified]),
        },
    )
    counts["sources"] += _upsert(
        conn,
        "sources",
        ("id",),
        {
            "id": plan_source_id(plan.id),
            "kind": "plan",
            "title": f"{plan.document_number} - {plan.issuer}",
            "publisher": plan.issuer,
            "url": None,
            "schedule": None,
            "expected_release_lag": None,
            "spec": _jsonb({"plan_id": plan.id, "source_file": plan.source_file}),
        },
    )
    _load_obligations(conn, plan, counts)
    _load_targets(conn, plan, counts)
    for baseline in plan.baselines:
        counts["observations"] += _load_baseline(conn, plan, baseline)


def _load_obligations(conn: psycopg.Connection, plan: Plan, counts: dict[str, int]) -> None:
    """The plan's reporting obligations; those gone from the file are deleted."""
    codes = [o.code for o in plan.reporting_obligations]
    cur = conn.execute(
        "DELETE FROM reporting_obligations WHERE plan_id = %s AND NOT (code = ANY(%s))", (plan.id, codes)
    )
    counts["reporting_obligations_deleted"] += max(cur.rowcount, 0)
    for o in plan.reporting_obligations:
        counts["reporting_obligations"] += _upsert(
            conn,
            "reporting_obligations",
            ("plan_id", "code"),
            {
                "plan_id": plan.id,
                "code": o.code,
                "description": " ".join(o.description.split()),
                "recurrence": o.recurrence,
                "due_dates": o.due_dates,
                "first_year": o.first_year,
                "recipient": o.recipient,
                "citation": _jsonb(o.citation.model_dump()) if o.citation else None,
            },
        )


def _load_targets(conn: psycopg.Connection, plan: Plan, counts: dict[str, int]) -> None:
    """The plan's targets (annex targets included); those gone from the files are deleted."""
    ids = [t.id for t in plan.targets]
    cur = conn.execute("DELETE FROM targets WHERE plan_id = %s AND NOT (id = ANY(%s))", (plan.id, ids))
    counts["targets_deleted"] += max(cur.rowcount, 0)
    for t in plan.targets:
        counts["targets"] += _upsert(conn, "targets", ("id",), _target_row(plan, t))


def _target_row(plan: Plan, t: Target) -> dict[str, Any]:
    b = t.baseline
    return {
        "id": t.id,
        "plan_id": plan.id,
        "indicator_code": t.indicator,
        "jurisdiction_id": t.jurisdiction,
        "target_year": t.target_year,
        "kind": t.kind,
        "operator": t.operator,
        "value": t.value,
        "value_max": t.value_max,
        "every_year": t.every_year,
        "parent_target_id": t.parent,
        "relative_to": t.relative_to,
        "milestone_object": t.milestone_object,
        "due_date": t.due_date,
        "baseline_year": b.year if b else None,
        "baseline_value": b.value if b else None,
        "baseline_note": " ".join(b.note.split()) if b and b.note else None,
        "lead_agency": t.lead_agency,
        "cite_document": t.citation.document,
        "cite_section": t.citation.section,
        "cite_quote": t.citation.quote,
        "needs_review": t.needs_review,
        "notes": " ".join(t.notes.split()) if t.notes else None,
        "phrase": t.phrase,
    }


def baseline_period(b: Baseline) -> tuple[str, date, date | None]:
    if b.year is not None:
        return "Y", date(b.year, 1, 1), None
    assert b.period_start is not None
    return "R", b.period_start, b.period_end


def _load_baseline(conn: psycopg.Connection, plan: Plan, b: Baseline) -> int:
    """Insert the plan's figure as a new vintage unless it would change nothing.

    Skipped when the current vintage (any source) already holds the same value and status, or when the
    plan's own latest vintage does: a publisher's later revision is never overridden by re-loading the
    catalog.
    """
    period_type, start, end = baseline_period(b)
    key = (b.jurisdiction, b.indicator, period_type, start)
    current = conn.execute(
        """SELECT value, status FROM observations
           WHERE jurisdiction_id = %s AND indicator_code = %s AND period_type = %s AND period_start = %s
           ORDER BY loaded_at DESC LIMIT 1""",
        key,
    ).fetchone()
    if current is not None and current[0] == b.value and current[1] == "final":
        return 0
    own = conn.execute(
        """SELECT value FROM observations
           WHERE jurisdiction_id = %s AND indicator_code = %s AND period_type = %s AND period_start = %s
             AND source_id = %s
           ORDER BY loaded_at DESC LIMIT 1""",
        (*key, plan_source_id(plan.id)),
    ).fetchone()
    if own is not None and own[0] == b.value:
        return 0
    parts = [" ".join(b.note.split())] if b.note else []
    if not b.year_stated:
        parts.append("năm không nêu / year not stated")
    parts.append(
        f"{b.citation.document}, mục {b.citation.section}" if b.citation.section else b.citation.document
    )
    conn.execute(
        """INSERT INTO observations (jurisdiction_id, indicator_code, period_start, period_type, period_end,
                                     value, status, source_id, file_name, fetched_at, loaded_at, note)
           VALUES (%s, %s, %s, %s, %s, %s, 'final', %s, %s, now(), now(), %s)""",
        (
            b.jurisdiction,
            b.indicator,
            start,
            period_type,
            end,
            b.value,
            plan_source_id(plan.id),
            plan.source_file,
            " | ".join(parts),
        ),
    )
    return 1
