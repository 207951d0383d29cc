"""`evaluate(conn, as_of)`: assess the whole catalog from what was known at as_of and record it.

One query per input (targets, succession, the yearly observations up to as_of), numpy/pandas for
the method, one COPY for the results. A run is recorded only when its results differ from the
latest run's: the fingerprint of everything evaluated (statuses, figures, flags, inputs) is
compared, so re-running on unchanged data adds nothing (the latest run is marked as re-confirmed).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pandas as pd
import psycopg

from chitieu.evaluate import comparable, compute, load

ENGINE_VERSION = "2"  # part of the fingerprint: a change of method re-records even on the same data
READ_WORKERS = 2  # parallel COPY streams for the observations
LOCK_KEY = 5_700_058  # advisory lock: one evaluation writes at a time


@dataclass
class RunSummary:
    run_id: int | None
    as_of: datetime
    reused: bool  # True: the results equal the latest run's, nothing new was recorded
    targets_count: int
    results_count: int
    fingerprint: str
    status_counts: dict[str, int] = field(default_factory=dict)
    headline_counts: dict[str, int] = field(default_factory=dict)
    flag_counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)  # seconds per phase: read, compute, write

    def as_dict(self) -> dict[str, object]:
        return {
            "run_id": self.run_id,
            "as_of": self.as_of.isoformat(),
            "reused": self.reused,
            "targets_count": self.targets_count,
            "results_count": self.results_count,
            "fingerprint": self.fingerprint,
            "status_counts": self.status_counts,
            "headline_counts": self.headline_counts,
            "flag_counts": self.flag_counts,
            "seconds": round(self.seconds, 3),
            "phases": {k: round(v, 3) for k, v in self.phases.items()},
        }


def _as_of(as_of: datetime | None) -> datetime:
    if as_of is None:
        return datetime.now(UTC)
    return as_of if as_of.tzinfo is not None else as_of.replace(tzinfo=UTC)


def compute_results(
    conn: psycopg.Connection, as_of: datetime | None = None, phases: dict[str, float] | None = None
) -> pd.DataFrame:
    """The evaluation of every target from what was known at as_of, without recording it."""
    when = _as_of(as_of)
    phases = phases if phases is not None else {}
    started = time.perf_counter()
    kinds = conn.execute("SELECT DISTINCT indicator_code, kind = 'milestone' FROM targets").fetchall()
    if not kinds:
        return pd.DataFrame(columns=compute.RESULT_COLUMNS)
    numeric_codes = sorted({code for code, milestone in kinds if not milestone})
    # Weight indicators are read too: successors' shares are rebuilt from predecessors' with them.
    numeric_codes = sorted(set(numeric_codes) | set(load.weight_indicators(conn, numeric_codes)))
    milestone_codes = sorted({code for code, milestone in kinds if milestone})
    # The observations (the bulk) stream over READ_WORKERS connections of their own while this one
    # reads the targets.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(load.yearly_observations, conn, when, numeric_codes, workers=READ_WORKERS)
        targets = load.targets(conn)
        succ = load.successors(conn)
        preds = load.predecessors(conn)
        milestones = load.milestone_completions(conn, when, milestone_codes)
        ceased = load.ceased_jurisdictions(conn, compute.MERGER_DATE)
        obs = pending.result()
    phases["read"] = time.perf_counter() - started
    started = time.perf_counter()
    results = compute.evaluate_frames(targets, obs, succ, milestones, when, ceased, preds)
    phases["compute"] = time.perf_counter() - started
    return results


def _esc(text: str) -> str:
    """Escape for COPY's text format."""
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _text_column(values: pd.Series) -> list[str]:
    null = "\\N"
    dtype = values.dtype
    items = values.tolist()
    if dtype == "boolean":
        return [null if v is None or v is pd.NA else ("t" if v else "f") for v in items]
    if str(dtype) == "Int64" or pd.api.types.is_integer_dtype(dtype):
        return [null if v is None or v is pd.NA else str(int(v)) for v in items]
    if pd.api.types.is_float_dtype(dtype):
        return [null if v != v else repr(v) for v in items]
    out = []
    for v in items:
        if v is None or v is pd.NA or (isinstance(v, float) and v != v):
            out.append(null)
        elif isinstance(v, list):
            out.append(_esc("{" + ",".join(v) + "}"))
        else:
            out.append(_esc(str(v)))
    return out


def _copy_body(results: pd.DataFrame) -> list[str]:
    """One COPY text-format line per result (run-independent columns only), in a stable order."""
    if results.empty:
        return []
    columns = [_text_column(results[c]) for c in compute.RESULT_COLUMNS]
    return ["\t".join(fields) for fields in zip(*columns, strict=True)]


def _fingerprint(lines: list[str]) -> str:
    h = hashlib.sha256()
    h.update(ENGINE_VERSION.encode())
    for line in lines:
        h.update(line.encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()


def _latest_run(conn: psycopg.Connection) -> tuple[int, str | None] | None:
    row = conn.execute(
        """SELECT id, data_fingerprint FROM evaluation_runs
           WHERE finished_at IS NOT NULL
           ORDER BY as_of DESC, id DESC LIMIT 1"""
    ).fetchone()
    return None if row is None else (row[0], row[1])


def evaluate(conn: psycopg.Connection, as_of: datetime | None = None) -> RunSummary:
    """Evaluate every (target, jurisdiction) from the observations loaded by as_of (default now).

    Writes one evaluation_runs row and its evaluations, unless the results are identical to the
    latest run's (same fingerprint): then nothing is added and that run is returned (reused=True).
    """
    started = time.perf_counter()
    when = _as_of(as_of)
    phases: dict[str, float] = {}
    results = compute_results(conn, when, phases)
    t = time.perf_counter()
    body = _copy_body(results)
    fingerprint = _fingerprint(body)
    phases["format"] = time.perf_counter() - t
    statuses = Counter(results["status"]) if len(results) else Counter()
    overall = results[results["check_year"].isna()] if len(results) else results
    headlines = Counter(overall["headline_status"]) if len(overall) else Counter()
    flags = Counter(f for fl in results["flags"] for f in fl) if len(results) else Counter()
    n_targets = int(results["check_year"].isna().sum()) if len(results) else 0
    summary = RunSummary(
        run_id=None,
        as_of=when,
        reused=False,
        targets_count=n_targets,
        results_count=len(results),
        fingerprint=fingerprint,
        status_counts=dict(sorted(statuses.items())),
        headline_counts=dict(sorted(headlines.items())),
        flag_counts=dict(sorted(flags.items())),
        phases=phases,
    )
    t = time.perf_counter()
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        latest = _latest_run(conn)
        if latest is not None and latest[1] == fingerprint and when >= _run_as_of(conn, latest[0]):
            conn.execute(
                """UPDATE evaluation_runs
                   SET notes = notes || jsonb_build_object('last_confirmed_at', now(),
                                                           'last_confirmed_as_of', %s::timestamptz)
                   WHERE id = %s""",
                (when, latest[0]),
            )
            summary.run_id = latest[0]
            summary.reused = True
            summary.seconds = time.perf_counter() - started
            return summary
        row = conn.execute(
            """INSERT INTO evaluation_runs (as_of, targets_count, data_fingerprint, notes)
               VALUES (%s, %s, %s, %s) RETURNING id, started_at""",
            (when, n_targets, fingerprint, json.dumps({"engine_version": ENGINE_VERSION})),
        ).fetchone()
        assert row is not None
        run_id, evaluated_at = row
        suffix = f"\t{run_id}\t{evaluated_at.isoformat()}\t{when.isoformat()}\n"
        columns = ", ".join([*compute.RESULT_COLUMNS, "run_id", "evaluated_at", "as_of"])
        with conn.cursor() as cur, cur.copy(f"COPY evaluations ({columns}) FROM STDIN") as copy:
            for start in range(0, len(body), 20_000):
                copy.write("".join(line + suffix for line in body[start : start + 20_000]))
        _write_derived(conn, run_id, results.attrs.get("derived"))
        conn.execute(
            """UPDATE evaluation_runs
               SET finished_at = clock_timestamp(), results_count = %s,
                   notes = notes || %s::jsonb
               WHERE id = %s""",
            (
                len(results),
                json.dumps(
                    {
                        "status_counts": summary.status_counts,
                        "headline_counts": summary.headline_counts,
                        "flag_counts": summary.flag_counts,
                    }
                ),
                run_id,
            ),
        )
    summary.run_id = run_id
    phases["write"] = time.perf_counter() - t
    summary.seconds = time.perf_counter() - started
    return summary


def _write_derived(conn: psycopg.Connection, run_id: int, derived: pd.DataFrame | None) -> None:
    """The successors' values derived in this run, with their inputs (apart from observations)."""
    if derived is None or derived.empty:
        return
    columns = comparable.STORED_COLUMNS
    with (
        conn.cursor() as cur,
        cur.copy(f"COPY derived_observations (run_id, {', '.join(columns)}) FROM STDIN") as copy,
    ):
        for rec in derived[list(columns)].itertuples(index=False):
            j, code, year, value, rule, weight, inputs, reason = rec
            copy.write_row(
                (run_id, j, code, int(year), None if value != value else value, rule, weight, inputs, reason)
            )


def _run_as_of(conn: psycopg.Connection, run_id: int) -> datetime:
    row = conn.execute("SELECT as_of FROM evaluation_runs WHERE id = %s", (run_id,)).fetchone()
    assert row is not None
    value: datetime = row[0]
    return value
