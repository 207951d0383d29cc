"""Loading validated rows: COPY into a temp staging table, one set-based insert, one transaction.

The batch row, the new vintages and the quarantined rows commit together or not at all, so a
load killed midway leaves nothing behind and can simply be retried. A figure whose value and
status equal its current vintage adds nothing; a different one that outranks it (see _insert_changed)
adds a vintage (a revision); one that does not is kept in observations_superseded.

Ordering: the comparison and the insert run while this load holds the advisory lock of every
indicator it writes, and loaded_at is a clock read under those locks, so vintage time is commit
order among loads that share an indicator: a long load that started first but commits last is
stamped last and was compared with what the shorter one committed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import psycopg
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter

from chitieu.errors import ChitieuError

STAGE_COLUMNS = [
    "jurisdiction_id",
    "indicator_code",
    "period_type",
    "period_start",
    "period_end",
    "value",
    "status",
    "sheet",
    "row_num",
    "cell",
]
CHANGE_CHANNEL = "chitieu_observations"  # NOTIFY channel; payload: the batch summary JSON
COPY_CHUNK_ROWS = 100_000


@dataclass
class BatchInfo:
    source_id: str
    file_sha256: str
    file_name: str
    archived_path: str | None
    fetched_at: datetime
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass
class LoadCounts:
    batch_id: int
    status: str  # 'loaded' | 'skipped' | 'rejected'
    new: int = 0
    revised: int = 0
    unchanged: int = 0
    confirmed: int = 0  # the same value and status from another source that outranks the current one
    superseded: int = 0  # figures that lost to a better claim already known: kept, not current
    rejected: int = 0
    resolved: int = 0  # rows earlier loads of this file had quarantined that passed now
    reprocess_of: int | None = None


def _int_or_none(value: Any) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def _lock_key(source_id: str, sha256: str) -> str:
    return f"chitieu-load:{source_id}:{sha256}"


def find_loaded_batch(conn: psycopg.Connection, source_id: str, sha256: str) -> int | None:
    row = conn.execute(
        "SELECT id FROM load_batches WHERE source_id = %s AND file_sha256 = %s AND status = 'loaded' "
        "ORDER BY id LIMIT 1",
        (source_id, sha256),
    ).fetchone()
    return int(row[0]) if row else None


def _insert_batch(conn: psycopg.Connection, info: BatchInfo, status: str, **extra: Any) -> int:
    cols = {
        "source_id": info.source_id,
        "file_sha256": info.file_sha256,
        "file_name": info.file_name,
        "archived_path": info.archived_path,
        "fetched_at": info.fetched_at,
        "status": status,
        **extra,
    }
    if "summary" in cols:
        cols["summary"] = json.dumps(cols["summary"], ensure_ascii=False, default=str)
    query = sql.SQL("INSERT INTO load_batches ({}) VALUES ({}) RETURNING id").format(
        sql.SQL(", ").join(map(sql.Identifier, cols)), sql.SQL(", ").join(map(sql.Placeholder, cols))
    )
    row = conn.execute(query, cols).fetchone()
    assert row is not None
    return int(row[0])


def record_skipped(conn: psycopg.Connection, info: BatchInfo, loaded_batch: int) -> int:
    """A batch row saying this exact file was already loaded (and by which batch)."""
    with conn.transaction():
        return _insert_batch(
            conn,
            info,
            "skipped",
            finished_at=info.fetched_at,
            summary={**info.summary, "already_loaded_by_batch": loaded_batch},
        )


def _copy_rejected(cur: psycopg.Cursor[Any], batch_id: int, info: BatchInfo, rejected: pd.DataFrame) -> None:
    if rejected.empty:
        return
    with cur.copy(
        "COPY rejected_rows (batch_id, source_id, file_sha256, file_name, sheet, row_num, column_name, raw, "
        "reason_code, reason_vi, reason_en, candidate) FROM STDIN"
    ) as copy:
        for r in rejected.to_dict("records"):
            candidate = r.get("candidate")  # a quarantined figure, kept for an engineer to accept
            copy.write_row(
                (
                    batch_id,
                    info.source_id,
                    info.file_sha256,
                    info.file_name,
                    r["sheet"],
                    _int_or_none(r["row"]),
                    r["column"],
                    r["raw"],
                    r["reason_code"],
                    r["reason_vi"],
                    r["reason_en"],
                    json.dumps(candidate, default=str) if isinstance(candidate, dict) else None,
                )
            )


def record_rejected_file(
    conn: psycopg.Connection, info: BatchInfo, rejected: pd.DataFrame, error: ChitieuError
) -> int:
    """A file that could not be read at all: a 'rejected' batch and its reason in quarantine."""
    with conn.transaction(), conn.cursor() as cur:
        batch_id = _insert_batch(
            conn,
            info,
            "rejected",
            finished_at=info.fetched_at,
            error_code=error.code,
            error_vi=error.vi,
            error_en=error.en,
            rows_rejected=len(rejected),
            summary=info.summary,
            rows_read=int(info.summary.get("read", 0)),
        )
        _copy_rejected(cur, batch_id, info, rejected)
    return batch_id


def _resolve_earlier_rejections(cur: psycopg.Cursor[Any], batch_id: int, info: BatchInfo) -> int:
    """Mark the quarantined rows of earlier loads of this same file that this load no longer
    rejects (a file-level rejection: the file was read this time). The rows themselves stay."""
    cur.execute(
        """UPDATE rejected_rows r SET resolved_by_batch = %(batch)s
           WHERE r.source_id = %(source)s AND r.file_sha256 = %(sha)s AND r.resolved_by_batch IS NULL
             AND r.batch_id <> %(batch)s
             AND NOT EXISTS (SELECT 1 FROM rejected_rows n
                             WHERE n.batch_id = %(batch)s AND n.row_num = r.row_num
                               AND n.sheet IS NOT DISTINCT FROM r.sheet
                               AND n.column_name IS NOT DISTINCT FROM r.column_name)""",
        {"batch": batch_id, "source": info.source_id, "sha": info.file_sha256},
    )
    return cur.rowcount


_CSV_SPECIAL = (",", '"', "\r", "\n")


def _csv_quote(text: str) -> str:
    """A CSV field: quoted only when it holds a comma, quote or line break."""
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in _CSV_SPECIAL) else text


def _label_texts(series: pd.Series) -> list[str]:
    """Repeated labels (ids, codes, sheet, status): each distinct one is formatted once."""
    codes, uniq = pd.factorize(series.to_numpy(dtype=object), use_na_sentinel=True)
    texts = np.array([*[_csv_quote(str(u)) for u in uniq], ""], dtype=object)
    out: list[str] = texts[codes].tolist()
    return out


def _free_texts(series: pd.Series) -> list[str]:
    """Mostly distinct texts (cell references): one scan of them all decides whether any needs quoting."""
    values = series.to_numpy(dtype=object)
    missing = pd.isna(values)
    if missing.any():
        values = values.copy()
        values[missing] = ""
    texts = [v if isinstance(v, str) else str(v) for v in values.tolist()]
    if any(c in "".join(texts) for c in _CSV_SPECIAL):
        texts = [_csv_quote(t) for t in texts]
    return texts


def _date_texts(series: pd.Series) -> list[str]:
    codes, uniq = pd.factorize(series.to_numpy(dtype=object), use_na_sentinel=True)
    texts = np.array([*[d.isoformat() for d in uniq], ""], dtype=object)
    out: list[str] = texts[codes].tolist()
    return out


def _float_texts(series: pd.Series) -> list[str]:
    """repr() of each value (exact round trip), computed once per distinct value."""
    codes, uniq = pd.factorize(series.to_numpy(dtype="float64"), use_na_sentinel=False)
    texts = np.array([repr(float(v)) for v in uniq], dtype=object)
    out: list[str] = texts[codes].tolist()
    return out


def _int_texts(series: pd.Series) -> list[str]:
    numbers = series.to_numpy(dtype="float64", na_value=np.nan)
    missing = np.isnan(numbers)
    texts = list(map(str, np.where(missing, 0, numbers).astype(np.int64).tolist()))
    for i in np.flatnonzero(missing).tolist():
        texts[i] = ""
    return texts


def _stage_text(frame: pd.DataFrame) -> Iterator[str]:
    """The staging rows as CSV text in chunks: each column formatted as a list of strings (repeated
    labels once per distinct value), then the rows joined in C (str.join over zip)."""
    for start in range(0, len(frame), COPY_CHUNK_ROWS):
        part = frame.iloc[start : start + COPY_CHUNK_ROWS]
        columns = [
            _label_texts(part["jurisdiction_id"]),
            _label_texts(part["indicator_code"]),
            _label_texts(part["period_type"]),
            _date_texts(part["period_start"]),
            _date_texts(part["period_end"]),
            _float_texts(part["value"]),
            _label_texts(part["status"]),
            _label_texts(part["sheet"]),
            _int_texts(part["row_num"]),
            _free_texts(part["cell"]),
        ]
        yield "\n".join(map(",".join, zip(*columns, strict=True))) + "\n"


INSERT_COLUMNS = (
    "jurisdiction_id, indicator_code, period_start, period_type, period_end, value, status, source_id, "
    "batch_id, file_sha256, file_name, sheet, row_num, cell, fetched_at, loaded_at, source_priority"
)
SELECT_COLUMNS = (
    "jurisdiction_id, indicator_code, period_start, period_type, period_end, value, status, %(source_id)s, "
    "%(batch_id)s, %(sha)s, %(file_name)s, sheet, row_num, cell, %(fetched_at)s, %(loaded_at)s, %(priority)s"
)


def _overlaps_existing(cur: psycopg.Cursor[Any], stage: pd.DataFrame) -> bool:
    """Does any stored figure share an indicator and the period range of this file?"""
    if stage.empty:
        return False
    row = cur.execute(
        "SELECT EXISTS (SELECT 1 FROM observations WHERE indicator_code = ANY (%s) "
        "AND period_start BETWEEN %s AND %s)",
        (
            _indicators_of(stage),
            stage["period_start"].min(),
            stage["period_start"].max(),
        ),
    ).fetchone()
    return bool(row and row[0])


def _indicators_of(stage: pd.DataFrame) -> list[str]:
    return sorted(str(x) for x in stage["indicator_code"].unique())


def _insert_changed(cur: psycopg.Cursor[Any], params: dict[str, Any]) -> LoadCounts:
    """Compare the staged figures with their current vintages and write what they add; the counts
    (batch_id and status left for the caller). new + revised + confirmed + unchanged + superseded is
    every staged row; inserted = new + revised + confirmed."""
    # Which claim is current when several give a figure: the greater (status = 'final',
    # source_priority, fetched_at), compared left to right — final beats provisional, then the source
    # priority of its spec, then the newest publication; a tie goes to the later load
    # (docs/ingestion.md, "Order and precedence"). A staged figure is then:
    #   new        no current vintage                                  -> a vintage
    #   revised    another value or status, and it outranks            -> a vintage
    #   confirmed  the same value and status from ANOTHER source that  -> a vintage (its provenance
    #              outranks                                               now wins)
    #   unchanged  the same value and status from the same source      -> nothing
    #   superseded it does not outrank (and is no unchanged repeat)    -> observations_superseded,
    #              unless this source already made that same claim        once
    # Only the current vintages of this file's indicators and periods are compared.
    query = sql.SQL("""
        WITH bounds AS (
            SELECT array_agg(DISTINCT indicator_code) AS inds,
                   min(period_start) AS lo, max(period_start) AS hi
            FROM chitieu_stage
        ), cur AS (
            SELECT DISTINCT ON (o.jurisdiction_id, o.indicator_code, o.period_type, o.period_start)
                   o.jurisdiction_id, o.indicator_code, o.period_type, o.period_start, o.value, o.status,
                   o.source_id, o.source_priority, o.fetched_at
            FROM observations o, bounds b
            WHERE o.indicator_code = ANY (b.inds) AND o.period_start BETWEEN b.lo AND b.hi
            ORDER BY o.jurisdiction_id, o.indicator_code, o.period_type, o.period_start, o.loaded_at DESC
        ), cmp AS (
            SELECT s.*, c.jurisdiction_id IS NULL AS fresh,
                   (c.value IS NOT DISTINCT FROM s.value AND c.status IS NOT DISTINCT FROM s.status) AS same,
                   c.source_id IS NOT DISTINCT FROM %(source_id)s AS own,
                   (s.status = 'final', %(priority)s::integer, %(fetched_at)s::timestamptz)
                       >= (c.status = 'final', c.source_priority, c.fetched_at) AS wins
            FROM chitieu_stage s
            LEFT JOIN cur c USING (jurisdiction_id, indicator_code, period_type, period_start)
        ), cls AS MATERIALIZED (
            SELECT cmp.*,
                   CASE WHEN fresh THEN 'new'
                        WHEN same AND own THEN 'unchanged'
                        WHEN NOT wins THEN 'superseded'
                        WHEN same THEN 'confirmed'
                        ELSE 'revised' END AS outcome
            FROM cmp
        ), ins AS (
            INSERT INTO observations ({insert_columns})
            SELECT {select_columns} FROM cls WHERE outcome IN ('new', 'revised', 'confirmed')
            RETURNING 1
        ), lost AS (
            INSERT INTO observations_superseded ({insert_columns})
            SELECT {select_columns} FROM cls
            WHERE outcome = 'superseded' AND NOT EXISTS (
                SELECT 1 FROM observations_superseded x
                WHERE x.jurisdiction_id = cls.jurisdiction_id AND x.indicator_code = cls.indicator_code
                  AND x.period_type = cls.period_type AND x.period_start = cls.period_start
                  AND x.source_id = %(source_id)s AND x.value = cls.value AND x.status = cls.status)
            RETURNING 1
        )
        SELECT count(*) FILTER (WHERE outcome = 'new'),
               count(*) FILTER (WHERE outcome = 'revised'),
               count(*) FILTER (WHERE outcome = 'confirmed'),
               count(*) FILTER (WHERE outcome = 'unchanged'),
               count(*) FILTER (WHERE outcome = 'superseded'),
               (SELECT count(*) FROM ins)
        FROM cls
        """).format(insert_columns=sql.SQL(INSERT_COLUMNS), select_columns=sql.SQL(SELECT_COLUMNS))
    row = cur.execute(query, params).fetchone()
    assert row is not None
    new, revised, confirmed, unchanged, superseded, inserted = (int(x) for x in row)
    assert inserted == new + revised + confirmed
    return LoadCounts(
        0, "", new=new, revised=revised, confirmed=confirmed, unchanged=unchanged, superseded=superseded
    )


def _source_priority(cur: psycopg.Cursor[Any], source_id: str) -> int:
    """The priority declared in the source's spec (0 when it declares none, or for uploads)."""
    row = cur.execute(
        "SELECT coalesce((spec->>'priority')::integer, 0) FROM sources WHERE id = %s", (source_id,)
    ).fetchone()
    return int(row[0]) if row else 0


VINTAGE_CLOCK_LOCK = "chitieu-vintage-clock"  # also taken (shared) by vintage_now() in SQL


def _vintage_clock(cur: psycopg.Cursor[Any]) -> datetime:
    """The vintage time of this load: clock_timestamp() (not now(), the transaction's start) read
    under the vintage-clock lock, held until commit. A reader that took the same lock shared
    (`SELECT vintage_now()`) therefore never sees a vintage stamped before its clock commit after
    it: as_of(t) for such a t can never change later. Taken after the indicator locks, never before."""
    cur.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (VINTAGE_CLOCK_LOCK,))
    row = cur.execute("SELECT clock_timestamp()").fetchone()
    assert row is not None
    stamp: datetime = row[0]
    return stamp


def _session_settings(conn: psycopg.Connection, rows: int) -> None:
    """For a big load: room for the staging table and the hash join that classifies its rows, and
    no wait for the WAL flush at commit.

    synchronous_commit = off is safe here: a crash right after the commit can lose the whole batch
    (it is then simply not loaded, and the archived file can be loaded again), never part of it.
    temp_buffers can only be raised before a session's first temporary table; a session that
    already had one keeps its size (the SET fails inside a savepoint and the load goes on).
    """
    if rows < 50_000:
        return
    conn.execute("SET LOCAL synchronous_commit = off")
    conn.execute("SET LOCAL work_mem = '128MB'")
    try:
        with conn.transaction():
            conn.execute("SET LOCAL temp_buffers = '256MB'")
    except psycopg.Error:
        pass


def _claim_file(cur: psycopg.Cursor[Any], info: BatchInfo) -> int | None:
    """Two loads of the same file at once: the second waits here, then sees the first (returned)."""
    cur.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
        (_lock_key(info.source_id, info.file_sha256),),
    )
    return find_loaded_batch(cur.connection, info.source_id, info.file_sha256)


def _lock_and_stamp(
    cur: psycopg.Cursor[Any], stage: pd.DataFrame, info: BatchInfo, batch_id: int
) -> dict[str, Any]:
    """Take the figure locks of the file's indicators, then read the vintage clock: the parameters
    every row of this batch is written with.

    Two loads of different files with figures of the same indicators: the second compares only after
    the first committed, so the same figure never gets two vintages. Sorted, so that loads waiting for
    each other's indicators cannot deadlock. The vintage time is read once every load this one could
    conflict with has committed (it held the locks) or will wait for ours, so loaded_at follows commit
    order, not start order."""
    cur.execute(
        """SELECT pg_advisory_xact_lock(hashtextextended('chitieu-figures:' || code, 0))
           FROM (SELECT unnest(%s::text[]) AS code ORDER BY 1) AS i""",
        (_indicators_of(stage),),
    )
    params = {
        "source_id": info.source_id,
        "batch_id": batch_id,
        "sha": info.file_sha256,
        "file_name": info.file_name,
        "fetched_at": info.fetched_at,
        "priority": _source_priority(cur, info.source_id),
    }
    params["loaded_at"] = _vintage_clock(cur)
    return params


def _copy_rows(
    cur: psycopg.Cursor[Any], table: str, columns: list[str], stage: pd.DataFrame, progress: Any
) -> None:
    """COPY the rows in chunks. A worker thread sends each chunk while the next one is formatted (the
    GIL is released while it waits on the socket), so the server parses the COPY alongside our Python
    work."""
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with cur.copy(statement, writer=QueuedLibpqWriter(cur)) as copy:
        done = 0
        for chunk in _stage_text(stage):
            copy.write(chunk)
            done += chunk.count("\n")
            if progress is not None:
                progress("copy", done, len(stage))


def _stage(cur: psycopg.Cursor[Any], stage: pd.DataFrame, progress: Any) -> None:
    """The batch's figures into a temporary table, before any figure lock is taken: a long COPY never
    holds up another load of the same indicators."""
    cur.execute(
        """CREATE TEMP TABLE chitieu_stage (
               jurisdiction_id text NOT NULL, indicator_code text NOT NULL, period_type char(1) NOT NULL,
               period_start date NOT NULL, period_end date, value double precision NOT NULL,
               status text NOT NULL, sheet text, row_num integer, cell text
           ) ON COMMIT DROP"""
    )
    if len(stage):
        _copy_rows(cur, "chitieu_stage", STAGE_COLUMNS, stage, progress)


def _write_figures(
    cur: psycopg.Cursor[Any], stage: pd.DataFrame, params: dict[str, Any], progress: Any
) -> LoadCounts:
    """The staged figures into observations (or observations_superseded); the outcome counts.

    Rows go in the order they were staged (the file's): sorting them by the vintage key or by period
    first made the insert slower (a server-side sort, and rows hopping between the hypertable's chunks)."""
    if progress is not None:
        progress("upsert", 0, len(stage))
    if _overlaps_existing(cur, stage):
        cur.execute("ANALYZE chitieu_stage")
        counts = _insert_changed(cur, params)
    else:  # nothing to compare with: every row is a first vintage (the first load of a source)
        query = sql.SQL("INSERT INTO observations ({}) SELECT {} FROM chitieu_stage").format(
            sql.SQL(INSERT_COLUMNS), sql.SQL(SELECT_COLUMNS)
        )
        cur.execute(query, params)
        counts = LoadCounts(0, "", new=cur.rowcount)
    if progress is not None:
        progress("upsert", len(stage), len(stage))
    return counts


def _finish_batch(
    cur: psycopg.Cursor[Any], batch_id: int, info: BatchInfo, counts: LoadCounts, rejected: int
) -> None:
    """The batch row's final counts and summary, and the change notice when figures landed."""
    inserted = counts.new + counts.revised + counts.confirmed
    summary = {**info.summary, "new": counts.new, "revised": counts.revised, "unchanged": counts.unchanged}
    if counts.confirmed:
        summary["confirmed"] = counts.confirmed
    if counts.superseded:
        summary["superseded"] = counts.superseded
    if counts.resolved:
        summary["resolved_rejections"] = counts.resolved
    reconciliation = summary.get("reconciliation")
    # The parse counted every good figure as loaded; now the comparison knows which were unchanged.
    # A superseded claim is stored too (observations_superseded), so it counts as loaded.
    if isinstance(reconciliation, dict):
        reconciliation = summary["reconciliation"] = {
            **reconciliation,
            "loaded": inserted + counts.superseded,
            "unchanged": counts.unchanged,
        }
    cur.execute(
        """UPDATE load_batches SET status = 'loaded', finished_at = clock_timestamp(),
               rows_loaded = %s, rows_unchanged = %s, rows_revised = %s, rows_rejected = %s,
               summary = %s::jsonb, reconciliation = %s::jsonb
           WHERE id = %s""",
        (
            inserted,
            counts.unchanged,
            counts.revised,
            rejected,
            json.dumps(summary, ensure_ascii=False, default=str),
            json.dumps(reconciliation) if isinstance(reconciliation, dict) else None,
            batch_id,
        ),
    )
    if inserted:
        notice = {
            "batch_id": batch_id,
            "source_id": info.source_id,
            "rows_loaded": inserted,
            "rows_revised": counts.revised,
        }
        cur.execute("SELECT pg_notify(%s, %s)", (CHANGE_CHANNEL, json.dumps(notice)))


def load_rows(
    conn: psycopg.Connection,
    good: pd.DataFrame,
    rejected: pd.DataFrame,
    info: BatchInfo,
    *,
    rows_read: int = 0,
    progress: Any = None,
    reprocess: bool = False,
) -> LoadCounts:
    """Load validated rows and rejections in ONE transaction; returns the counts.

    A file already loaded for this source is skipped, unless `reprocess`: then it is loaded again as
    a batch naming the first (after a catalog fix the rows it had rejected may pass; the figures it
    had loaded compare equal and add nothing)."""
    stage = good.rename(columns={"row": "row_num"})
    with conn.transaction(), conn.cursor() as cur:
        already = _claim_file(cur, info)
        if already is not None and not reprocess:
            batch_id = _insert_batch(
                conn,
                info,
                "skipped",
                finished_at=info.fetched_at,
                summary={**info.summary, "already_loaded_by_batch": already},
            )
            return LoadCounts(batch_id, "skipped")
        batch_id = _insert_batch(
            conn, info, "running", summary=info.summary, rows_read=rows_read, reprocess_of=already
        )
        _session_settings(conn, len(stage))
        _stage(cur, stage, progress)
        params = _lock_and_stamp(cur, stage, info, batch_id)
        counts = _write_figures(cur, stage, params, progress)
        _copy_rejected(cur, batch_id, info, rejected)
        counts.resolved = _resolve_earlier_rejections(cur, batch_id, info)
        _finish_batch(cur, batch_id, info, counts, len(rejected))
    counts.batch_id, counts.status = batch_id, "loaded"
    counts.rejected, counts.reprocess_of = len(rejected), already
    return counts
