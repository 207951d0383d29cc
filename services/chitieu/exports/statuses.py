"""The statuses table: the rows that the API's pages (`GET /statuses`), the statuses export and
`chitieu status` show, in one definition.

The latest statuses are read from the table the evaluation refreshes (dash_evaluations_latest, one
row per target, jurisdiction and check year; the run it stands for in dash_latest_run), the API's
JSON pages from their items (dash_status_items: the JSON in parts around the run's fields, with the
filters' columns); the statuses current at a past time from the rows of that evaluation run.
Key: KEY (target_id, jurisdiction_id, check year or 0); the keyset cursor of the pages holds it.
"""

from __future__ import annotations

from collections.abc import Container

from psycopg import sql

KEY = sql.SQL("l.target_id, l.jurisdiction_id, l.check_year_key")

# Each filter and its predicate, written into the query only when it is given: a prepared
# statement's generic plan cannot drop a `%(x)s IS NULL OR ...` branch, and would filter the whole
# key range instead of starting the index scan at the cursor.
FILTERS = {
    "plan": sql.SQL("l.plan_id = %(plan)s"),
    "jids": sql.SQL("l.jurisdiction_id = ANY(%(jids)s::text[])"),
    # The same places, also where they are only the jurisdiction whose data was used (a ceased
    # province's targets continued on its successor's data): what `chitieu status` lists.
    "jids_or_data": sql.SQL(
        "(l.jurisdiction_id = ANY(%(jids)s::text[]) OR l.data_jurisdiction_id = ANY(%(jids)s::text[]))"
    ),
    "ind": sql.SQL("l.indicator_code = %(ind)s"),
    "statuses": sql.SQL("l.status = ANY(%(statuses)s::text[])"),
    "headlines": sql.SQL("hv.key = ANY(%(headlines)s::text[])"),
    "after": sql.SQL("({}) > (%(a0)s::text, %(a1)s::text, %(a2)s::integer)").format(KEY),
}

# The latest rows with the run the table stands for (held once, in a one-row table).
_LATEST_ROWS = sql.SQL(
    "(SELECT d.*, r.run_id, r.as_of FROM dash_evaluations_latest d CROSS JOIN dash_latest_run r) l"
)
# The JSON items of the latest rows, with the filters' columns and the run's fields as the items
# write them (OFFSET 0: written once, not for every row).
_LATEST_ITEMS = sql.SQL(
    """(SELECT s.*, r.run_head, r.run_tail
        FROM dash_status_items s
        CROSS JOIN (SELECT status_item_run_head(run_id) AS run_head, status_item_run_tail(as_of) AS run_tail
                    FROM dash_latest_run OFFSET 0) r) l"""
)
# A partial run records only the targets it re-evaluated; its whole result is its rows over its base's.
_RUN_ROWS = sql.SQL(
    "(SELECT e.*, coalesce(e.check_year, 0) AS check_year_key FROM evaluation_run_rows(%(run)s) e) l"
)


def rows(past_run: bool, given: Container[str] = ()) -> sql.Composed:
    """FROM and WHERE of the statuses: the latest, or with `past_run` the rows of run %(run)s;
    joined with the names a reader needs (j: jurisdiction, i: indicator, sl: the ratio status's
    words, hv: the headline verdict's words, from status_vocabulary); with the FILTERS named in
    `given`: %(plan)s, %(jids)s (as jids or jids_or_data), %(ind)s, %(statuses)s (the ratio's
    status), %(headlines)s (the headline verdict) and the cursor `after` (%(a0)s, %(a1)s, %(a2)s).
    A row recorded before the headline verdict existed shows its status as the headline."""
    return _rows(_RUN_ROWS if past_run else _LATEST_ROWS, given)


def _rows(source: sql.Composable, given: Container[str]) -> sql.Composed:
    wanted = [p for name, p in FILTERS.items() if name in given]
    where = sql.SQL(" AND ").join(wanted) if wanted else sql.SQL("true")
    return sql.SQL(
        """FROM {source}
           LEFT JOIN jurisdictions j ON j.id = l.jurisdiction_id
           LEFT JOIN indicators i ON i.code = l.indicator_code
           LEFT JOIN status_vocabulary sl ON sl.key = l.status
           LEFT JOIN status_vocabulary hv ON hv.key = coalesce(l.headline_status, l.status)
           WHERE {where}"""
    ).format(source=source, where=where)


# status_item's arguments (the fields of a status in the API's order) from the rows of a past run.
_ITEM_ARGUMENTS = """l.target_id, l.plan_id, l.jurisdiction_id, j.name, l.data_jurisdiction_id,
    l.indicator_code, i.name_vi, l.target_year, l.check_year, l.status, sl.label_vi, l.progress_ratio,
    l.expected_value, l.current_value, l.current_year, l.projected_value, l.will_meet, l.base_year,
    l.base_value, l.flags, l.run_id, l.evaluated_at, l.as_of, hv.key, hv.label_vi, hv.label_en, hv.grp,
    l.headline_rule, l.anticipated_gap, l.series_basis"""


def page(past_run: bool, given: Container[str] = ()) -> tuple[sql.Composable, sql.Composed]:
    """The JSON of each row as the API serves it, and FROM and WHERE of those rows (as `rows`): the
    latest from their stored items alone (a range of one table, no lookup per row); for a past run,
    written whole from its rows by the same functions (status_item,
    db/migrations/views/045-status-items.sql)."""
    if past_run:
        return sql.SQL("status_item({})").format(sql.SQL(_ITEM_ARGUMENTS)), rows(True, given)
    item = sql.SQL("status_item_parts(l.head, l.run_head, l.evaluated_at_json, l.run_tail, l.tail)")
    return item, _rows(_LATEST_ITEMS, given)
