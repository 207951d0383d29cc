"""What the engine reads, in a few set-based queries: targets, succession, and the observations
known at `as_of` (every vintage up to then, resolved to the latest one per period here)."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
import psycopg
from pandas.api.types import union_categoricals
from psycopg import sql

TARGET_COLUMNS = (
    "id",
    "plan_id",
    "indicator_code",
    "jurisdiction_id",
    "target_year",
    "kind",
    "operator",
    "value",
    "value_max",
    "every_year",
    "parent_target_id",
    "relative_to",
    "due_date",
    "baseline_year",
    "baseline_value",
    "issued_on",
    "value_type",
    "aggregation",
    "aggregation_weight",
    "jurisdiction_level",
)


def _frame(conn: psycopg.Connection, query: str, params: tuple[object, ...] = ()) -> pd.DataFrame:
    with conn.cursor() as cur:
        cur.execute(query, params)
        columns = [d.name for d in cur.description or ()]
        return pd.DataFrame(cur.fetchall(), columns=columns)


def _copy_csv(
    conn: psycopg.Connection, query: sql.SQL | sql.Composed, names: list[str], dtype: dict[str, Any]
) -> pd.DataFrame:
    """COPY (query) TO STDOUT as CSV, parsed by pandas: far cheaper than fetching Python tuples."""
    return _parse_csv(_copy_bytes(conn, query), names, dtype)


def _copy_bytes(conn: psycopg.Connection, query: sql.SQL | sql.Composed) -> io.BytesIO:
    buf = io.BytesIO()
    with conn.cursor() as cur, cur.copy(query) as copy:
        for chunk in copy:
            buf.write(chunk)
    buf.seek(0)
    return buf


def _parse_csv(buf: io.BytesIO, names: list[str], dtype: dict[str, Any]) -> pd.DataFrame:
    if buf.getbuffer().nbytes == 0:
        return pd.DataFrame({n: pd.Series(dtype=dtype.get(n, object)) for n in names})
    return pd.read_csv(
        buf, header=None, names=names, dtype=dtype, engine="c", keep_default_na=False, na_values=[""]
    )


def targets(conn: psycopg.Connection) -> pd.DataFrame:
    query = sql.SQL(
        """COPY (SELECT t.id, t.plan_id, t.indicator_code, t.jurisdiction_id, t.target_year, t.kind,
                        t.operator, t.value, t.value_max, t.every_year::int, t.parent_target_id,
                        t.relative_to, t.due_date, t.baseline_year, t.baseline_value, p.issued_on,
                        i.value_type, i.aggregation, i.aggregation_weight, j.level
                 FROM targets t JOIN plans p ON p.id = t.plan_id
                 LEFT JOIN indicators i ON i.code = t.indicator_code
                 LEFT JOIN jurisdictions j ON j.id = t.jurisdiction_id
                 ORDER BY t.id) TO STDOUT (FORMAT csv)"""
    )
    text = {
        c: str
        for c in (
            "id",
            "plan_id",
            "indicator_code",
            "jurisdiction_id",
            "kind",
            "operator",
            "value_type",
            "aggregation",
            "aggregation_weight",
            "jurisdiction_level",
        )
    }
    frame = _copy_csv(
        conn,
        query,
        list(TARGET_COLUMNS),
        {
            **text,
            "parent_target_id": object,
            "relative_to": object,
            "due_date": object,
            "issued_on": object,
            "target_year": np.int64,
            "value": float,
            "value_max": float,
            "every_year": np.int8,
            "baseline_year": float,
            "baseline_value": float,
        },
    )
    frame["every_year"] = frame["every_year"].astype(bool)
    for col in ("parent_target_id", "relative_to", "aggregation_weight", "value_type", "aggregation"):
        frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
    for col in ("due_date", "issued_on"):
        frame[col] = [date.fromisoformat(d) if isinstance(d, str) else None for d in frame[col]]
    return frame


def successors(conn: psycopg.Connection) -> pd.DataFrame:
    """Ceased jurisdictions and the one whose data continues theirs (first successor by id)."""
    return _frame(
        conn,
        """SELECT DISTINCT ON (s.predecessor_id)
                  s.predecessor_id, s.successor_id, s.effective_on, s.legal_basis
           FROM jurisdiction_succession s
           JOIN jurisdictions j ON j.id = s.predecessor_id
           WHERE j.valid_to IS NOT NULL
           ORDER BY s.predecessor_id, s.successor_id""",
    )


def predecessors(conn: psycopg.Connection) -> pd.DataFrame:
    """Every succession: a successor, each of its predecessors, the date, and how many successors
    that predecessor has (more than one is a split, which no aggregation rule can rebuild)."""
    return _frame(
        conn,
        """SELECT s.successor_id, s.predecessor_id, s.effective_on,
                  count(*) OVER (PARTITION BY s.predecessor_id) AS successors_of_predecessor
           FROM jurisdiction_succession s
           ORDER BY s.successor_id, s.predecessor_id""",
    )


def weight_indicators(conn: psycopg.Connection, indicator_codes: list[str]) -> list[str]:
    """The weight indicators the aggregation rules of these indicators name (for derived values)."""
    rows = conn.execute(
        """SELECT DISTINCT aggregation_weight FROM indicators
           WHERE code = ANY(%s) AND aggregation_weight IS NOT NULL""",
        (indicator_codes,),
    ).fetchall()
    return sorted(r[0] for r in rows)


def reconnect(conn: psycopg.Connection) -> psycopg.Connection:
    """Another connection to the same database (for reads in parallel with `conn`)."""
    return psycopg.connect(conn.info.dsn, password=conn.info.password, autocommit=True)


def ceased_jurisdictions(conn: psycopg.Connection, before: date) -> set[str]:
    """Ids of jurisdictions whose validity ended before `before`."""
    rows = conn.execute("SELECT id FROM jurisdictions WHERE valid_to < %s", (before,)).fetchall()
    return {r[0] for r in rows}


def raw_yearly_observations(
    conn: psycopg.Connection,
    as_of: datetime,
    indicator_codes: list[str],
    *,
    workers: int = 1,
    jurisdictions: list[str] | None = None,
) -> pd.DataFrame:
    """Every vintage of the yearly figures loaded by as_of (of these jurisdictions only, if given).

    Columns: jurisdiction_id, indicator_code, year, value, provisional, loaded (epoch s), fetched (epoch s).
    With workers > 1 the indicators are split over that many COPYs on connections of their own
    (`conn` itself is then not used, so the caller may use it meanwhile).
    """
    if workers <= 1:
        return _raw_part(conn, as_of, indicator_codes, jurisdictions)
    # Never `conn` from here on: the caller may be using it in another thread.
    groups = [g for g in (indicator_codes[i::workers] for i in range(workers)) if g]

    def part(codes: list[str]) -> io.BytesIO:
        with reconnect(conn) as own:
            return _copy_bytes(own, _raw_query(as_of, codes, jurisdictions))

    # The helper threads only receive the text; it is parsed in this thread (each part as soon as it
    # has arrived, the others still streaming): what a thread allocates stays in its own malloc arena
    # once freed, out of reach of the frames built after it.
    with ThreadPoolExecutor(max_workers=len(groups) or 1) as pool:
        parts = [pool.submit(part, g) for g in groups]
        frames = [_parse_csv(p.result(), _RAW_NAMES, _RAW_DTYPES) for p in parts]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return _empty_raw()
    if len(frames) == 1:
        return frames[0]
    # Concatenating categoricals of different categories would fall back to Python strings.
    joined = {
        col: union_categoricals([f[col] for f in frames], ignore_order=True)
        for col in ("jurisdiction_id", "indicator_code")
    }
    out = pd.concat(frames, ignore_index=True)
    for col, values in joined.items():
        out[col] = values
    return out


_RAW_NAMES = ["jurisdiction_id", "indicator_code", "year", "value", "provisional", "loaded", "fetched"]
_RAW_DTYPES: dict[str, Any] = {
    # Categories: 1M ids become small integer codes (memory, and cheap joins later).
    "jurisdiction_id": "category",
    "indicator_code": "category",
    "year": np.int64,
    "value": float,
    "provisional": np.int8,
    "loaded": float,
    "fetched": float,
}


def _empty_raw() -> pd.DataFrame:
    return pd.DataFrame({n: pd.Series(dtype=_RAW_DTYPES[n]) for n in _RAW_NAMES})


def _raw_part(
    conn: psycopg.Connection, as_of: datetime, indicator_codes: list[str], jurisdictions: list[str] | None
) -> pd.DataFrame:
    if not indicator_codes:
        return _empty_raw()
    return _copy_csv(conn, _raw_query(as_of, indicator_codes, jurisdictions), _RAW_NAMES, _RAW_DTYPES)


def _raw_query(as_of: datetime, indicator_codes: list[str], jurisdictions: list[str] | None) -> sql.Composed:
    where: sql.SQL | sql.Composed = sql.SQL("")
    if jurisdictions is not None:
        where = sql.SQL(" AND jurisdiction_id = ANY({})").format(sql.Literal(jurisdictions))
    return sql.SQL(
        """COPY (SELECT jurisdiction_id, indicator_code, extract(year FROM period_start)::int, value,
                        (status = 'provisional')::int, date_part('epoch', loaded_at),
                        date_part('epoch', fetched_at)
                 FROM observations
                 WHERE period_type = 'Y' AND loaded_at <= {as_of} AND indicator_code = ANY({codes}){where})
           TO STDOUT (FORMAT csv)"""
    ).format(as_of=sql.Literal(as_of), codes=sql.Literal(indicator_codes), where=where)


def yearly_observations(
    conn: psycopg.Connection,
    as_of: datetime,
    indicator_codes: list[str],
    *,
    workers: int = 1,
    jurisdictions: list[str] | None = None,
) -> pd.DataFrame:
    """Yearly figures known at as_of, latest vintage per period, with the vintage before it.

    Columns: those of raw_yearly_observations, plus prev_value (the previous vintage's value, NaN if
    the period was never revised).
    """
    raw = raw_yearly_observations(conn, as_of, indicator_codes, workers=workers, jurisdictions=jurisdictions)
    if raw.empty:
        return raw.assign(prev_value=pd.Series(dtype=float))
    jc = pd.Categorical(raw["jurisdiction_id"]).codes.astype(np.int64)
    ic = pd.Categorical(raw["indicator_code"]).codes.astype(np.int64)
    year = raw["year"].to_numpy()
    loaded = raw["loaded"].to_numpy()
    order = np.lexsort((loaded, year, ic, jc))
    jc, ic, year = jc[order], ic[order], year[order]
    same_next = np.zeros(len(order), dtype=bool)
    same_next[:-1] = (jc[1:] == jc[:-1]) & (ic[1:] == ic[:-1]) & (year[1:] == year[:-1])
    is_latest = ~same_next
    sorted_raw = raw.iloc[order].reset_index(drop=True)
    latest = sorted_raw[is_latest].reset_index(drop=True)
    # The vintage just before the latest: a row whose next row is the latest of the same period.
    is_prev = same_next.copy()
    is_prev[:-1] &= is_latest[1:]
    prev_positions = np.flatnonzero(is_prev) + 1  # the latest row each previous vintage precedes
    prev_value = np.full(len(sorted_raw), np.nan)
    prev_value[prev_positions] = sorted_raw["value"].to_numpy()[is_prev]
    latest["prev_value"] = prev_value[is_latest]
    latest["provisional"] = latest["provisional"].astype(bool)
    return latest


def milestone_completions(
    conn: psycopg.Connection,
    as_of: datetime,
    indicator_codes: list[str],
    jurisdictions: list[str] | None = None,
) -> pd.DataFrame:
    """First period (any period type) with a value >= 1, per (jurisdiction, indicator), known at as_of
    (of these jurisdictions only, if given)."""
    if not indicator_codes:
        return pd.DataFrame(columns=["jurisdiction_id", "indicator_code", "done_on", "value", "provisional"])
    return _frame(
        conn,
        """SELECT DISTINCT ON (jurisdiction_id, indicator_code)
                  jurisdiction_id, indicator_code, period_start AS done_on, value,
                  status = 'provisional' AS provisional
           FROM observations_as_of(%s)
           WHERE indicator_code = ANY(%s) AND value >= 1
             AND (%s::text[] IS NULL OR jurisdiction_id = ANY(%s::text[]))
           ORDER BY jurisdiction_id, indicator_code, period_start""",
        (as_of, indicator_codes, jurisdictions, jurisdictions),
    )
