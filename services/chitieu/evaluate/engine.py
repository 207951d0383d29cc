"""`evaluate(conn, as_of)`: assess the whole catalog from what was known at as_of and record it.

One query per input (targets, succession, the yearly observations up to as_of), numpy/pandas for
the method, one COPY for the results. A run is recorded only when its results differ from the
latest run's: the fingerprint of everything evaluated (statuses, figures, flags, inputs) is
compared, so re-running on unchanged data adds nothing (the latest run is marked as re-confirmed).

When the latest run was made the same day under the same catalog and method, only the targets
whose series changed since (chitieu.evaluate.changes) are evaluated again: a partial run records
their rows and names that run as its base; its complete results (SQL evaluation_run_rows) are its
rows plus its base's for every other target, equal to those of a full evaluation. The fingerprint
is a sum over result lines (a multiset hash), so the base's share is known without reading it back:
the evaluated targets' lines as the base had them are computed again at its as_of and swapped.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import psycopg
from psycopg import sql

from chitieu.evaluate import changes, comparable, compute, load

ENGINE_VERSION = "3"  # part of the fingerprint: a change of method re-records even on the same data
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
    # "all": every target evaluated; "changes": only those whose series changed since base_run_id.
    scope: str = "all"
    base_run_id: int | None = None
    evaluated_targets: int = 0

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
            "scope": self.scope,
            "base_run_id": self.base_run_id,
            "evaluated_targets": self.evaluated_targets,
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
    # The observations (the bulk) stream over READ_WORKERS connections of their own while `conn`
    # reads the targets in a helper thread. The bulk is assembled in this thread: memory a helper
    # thread allocates stays in its own malloc arena once freed, out of reach of the frames that follow.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(_catalog, conn, when, milestone_codes)
        obs = load.yearly_observations(conn, when, numeric_codes, workers=READ_WORKERS)
        targets, succ, preds, milestones, ceased = pending.result()
    phases["read"] = time.perf_counter() - started
    started = time.perf_counter()
    results = compute.evaluate_frames(targets, obs, succ, milestones, when, ceased, preds)
    phases["compute"] = time.perf_counter() - started
    return results


def _catalog(
    conn: psycopg.Connection, when: datetime, milestone_codes: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame, set[str]]:
    """The targets, successions, predecessors, milestone completions and ceased jurisdictions."""
    return (
        load.targets(conn),
        load.successors(conn),
        load.predecessors(conn),
        load.milestone_completions(conn, when, milestone_codes),
        load.ceased_jurisdictions(conn, compute.MERGER_DATE),
    )


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


BODY_BLOCK = 10_000  # rows formatted at a time: one block's text columns exist at once, never all


def _copy_body(results: pd.DataFrame) -> list[bytes]:
    """One COPY text-format line per result (run-independent columns only), in a stable order, as
    UTF-8: the lineage's Vietnamese notes would make every line a two-bytes-per-character str, and
    the bytes are what is hashed and sent anyway."""
    body: list[bytes] = []
    for start in range(0, len(results), BODY_BLOCK):
        block = results.iloc[start : start + BODY_BLOCK]
        columns = [_text_column(block[c]) for c in compute.RESULT_COLUMNS]
        body.extend("\t".join(fields).encode("utf-8") for fields in zip(*columns, strict=True))
    return body


_HASH_MOD = 1 << 256


def _line_sum(lines: list[bytes]) -> int:
    """Sum of the lines' SHA-256 values modulo 2**256: a hash of the multiset of lines, to which a
    part's share can be added or taken away."""
    total = 0
    for line in lines:
        total += int.from_bytes(hashlib.sha256(line).digest(), "big")
    return total % _HASH_MOD


def _fingerprint(line_sum: int, count: int) -> str:
    return hashlib.sha256(f"{ENGINE_VERSION}:{count}:{line_sum:064x}".encode()).hexdigest()


@dataclass(frozen=True)
class _Run:
    """A recorded run, as a base for the next one."""

    run_id: int
    as_of: datetime
    started_at: datetime
    fingerprint: str | None
    results_count: int
    notes: dict[str, Any]


def _latest_run(conn: psycopg.Connection) -> _Run | None:
    row = conn.execute(
        """SELECT id, as_of, started_at, data_fingerprint, results_count, notes FROM evaluation_runs
           WHERE finished_at IS NOT NULL
           ORDER BY as_of DESC, id DESC LIMIT 1"""
    ).fetchone()
    return None if row is None else _Run(row[0], row[1], row[2], row[3], int(row[4] or 0), dict(row[5] or {}))


@dataclass
class _Counts:
    targets: int
    status: Counter[str]
    headline: Counter[str]
    flags: Counter[str]

    @classmethod
    def of(cls, results: pd.DataFrame) -> _Counts:
        if results.empty:
            return cls(0, Counter(), Counter(), Counter())
        overall = results[results["check_year"].isna()]
        return cls(
            len(overall),
            Counter(results["status"]),
            Counter(overall["headline_status"]),
            Counter(f for fl in results["flags"] for f in fl),
        )

    @classmethod
    def of_run(cls, run: _Run) -> _Counts:
        notes = run.notes
        return cls(
            int(notes.get("targets_count", 0)),
            Counter(notes.get("status_counts", {})),
            Counter(notes.get("headline_counts", {})),
            Counter(notes.get("flag_counts", {})),
        )

    def replaced(self, old: _Counts, new: _Counts) -> _Counts:
        """These counts with `old`'s share taken away and `new`'s added."""
        return _Counts(
            self.targets - old.targets + new.targets,
            self.status - old.status + new.status,
            self.headline - old.headline + new.headline,
            self.flags - old.flags + new.flags,
        )


@dataclass(frozen=True)
class _Carry:
    """What a partial run takes over from its base run: every result but those of the targets it
    evaluated (read through its base, never copied), every derived value but those of the
    (indicator, territory) pairs in `series` (copied)."""

    base: _Run
    series: list[tuple[str, str]]


class _StaleBase(Exception):
    """Another run was recorded after the base of a partial run was read."""


def evaluate(conn: psycopg.Connection, as_of: datetime | None = None, *, full: bool = False) -> RunSummary:
    """Evaluate every (target, jurisdiction) from the observations loaded by as_of (default now).

    Writes one evaluation_runs row and its evaluations, unless the results are identical to the
    latest run's (same fingerprint): then nothing is added and that run is returned (reused=True).
    Only the targets whose series changed since the latest run are evaluated again when that run
    can serve as a base (see the module's doc); `full` evaluates every target regardless.
    """
    started = time.perf_counter()
    when = _as_of(as_of)
    summary = None
    if not full:
        try:
            summary = _evaluate_changes(conn, when)
        except _StaleBase:
            summary = None
    if summary is None:
        summary = _evaluate_all(conn, when)
    summary.seconds = time.perf_counter() - started
    return summary


def _run_notes(digest: str, known: int, when: datetime, line_sum: int, counts: _Counts) -> dict[str, Any]:
    return {
        "engine_version": ENGINE_VERSION,
        "catalog_digest": digest,
        "observations_known": known,
        "as_of_date": when.date().isoformat(),
        "line_sum": f"{line_sum:x}",
        "targets_count": counts.targets,
    }


def _summary(
    when: datetime, counts: _Counts, results_count: int, fingerprint: str, phases: dict[str, float]
) -> RunSummary:
    return RunSummary(
        run_id=None,
        as_of=when,
        reused=False,
        targets_count=counts.targets,
        results_count=results_count,
        fingerprint=fingerprint,
        status_counts=dict(sorted((+counts.status).items())),
        headline_counts=dict(sorted((+counts.headline).items())),
        flag_counts=dict(sorted((+counts.flags).items())),
        phases=phases,
    )


def _evaluate_all(conn: psycopg.Connection, when: datetime) -> RunSummary:
    phases: dict[str, float] = {}
    digest = changes.catalog_digest(conn)
    (known,) = changes.observations_known(conn, when)
    results = compute_results(conn, when, phases)
    t = time.perf_counter()
    body = _copy_body(results)
    line_sum = _line_sum(body)
    counts = _Counts.of(results)
    derived = results.attrs.get("derived")
    # The lines hold everything recorded: the frame is not kept alive through the write.
    del results
    phases["format"] = time.perf_counter() - t
    summary = _summary(when, counts, len(body), _fingerprint(line_sum, len(body)), phases)
    summary.evaluated_targets = counts.targets
    notes = _run_notes(digest, known, when, line_sum, counts)
    _record(conn, summary, body, derived, notes)
    return summary


def _evaluate_changes(conn: psycopg.Connection, when: datetime) -> RunSummary | None:
    """The run made by evaluating only what changed since the latest run, or None when that run
    cannot serve as a base (none yet; another method, catalog or day; a later as_of; or figures
    that appeared since in the past it evaluated)."""
    phases: dict[str, float] = {}
    started = time.perf_counter()
    base = _latest_run(conn)
    if base is None or base.as_of > when or base.fingerprint is None:
        return None
    notes = base.notes
    # The base's results are computed again at its as_of, in the zone of this one's.
    base_when = base.as_of.astimezone(when.tzinfo)
    if (
        notes.get("engine_version") != ENGINE_VERSION
        or notes.get("as_of_date") != when.date().isoformat()
        or base_when.date() != when.date()
        or "line_sum" not in notes
        or "targets_count" not in notes
        or "observations_known" not in notes
    ):
        return None
    digest = changes.catalog_digest(conn)
    if notes.get("catalog_digest") != digest:
        return None
    known_then, known = changes.observations_known(conn, base.as_of, when)
    if known_then != notes.get("observations_known"):
        return None
    changed = changes.changed_series(conn, base.as_of, when)
    targets = load.targets(conn)
    succ = load.successors(conn)
    preds = load.predecessors(conn)
    affected = targets[changes.dependent_targets(targets, changed, succ, preds)].reset_index(drop=True)
    ceased = load.ceased_jurisdictions(conn, compute.MERGER_DATE)
    phases["read"] = time.perf_counter() - started
    started = time.perf_counter()
    new = _results_of(conn, when, affected, succ, preds, ceased)
    old = _results_of(conn, base_when, affected, succ, preds, ceased)
    phases["compute"] = time.perf_counter() - started
    started = time.perf_counter()
    body, old_body = _copy_body(new), _copy_body(old)
    line_sum = (int(notes["line_sum"], 16) - _line_sum(old_body) + _line_sum(body)) % _HASH_MOD
    count = base.results_count - len(old_body) + len(body)
    counts = _Counts.of_run(base).replaced(_Counts.of(old), _Counts.of(new))
    phases["format"] = time.perf_counter() - started
    summary = _summary(when, counts, count, _fingerprint(line_sum, count), phases)
    summary.scope = "changes"
    summary.base_run_id = base.run_id
    summary.evaluated_targets = len(affected)
    succ_of = {} if succ.empty else dict(zip(succ["predecessor_id"], succ["successor_id"], strict=True))
    series = sorted(
        {
            (code, territory)
            for code, jur in zip(affected["indicator_code"], affected["jurisdiction_id"], strict=True)
            for territory in (jur, succ_of.get(jur, jur))
        }
    )
    carry = _Carry(base, series)
    notes = _run_notes(digest, known, when, line_sum, counts)
    _record(conn, summary, body, new.attrs.get("derived"), notes, carry)
    return summary


def _results_of(
    conn: psycopg.Connection,
    when: datetime,
    targets: pd.DataFrame,
    succ: pd.DataFrame,
    preds: pd.DataFrame,
    ceased: set[str],
) -> pd.DataFrame:
    """The results of these targets only, reading only the series they depend on."""
    if targets.empty:
        out = pd.DataFrame(columns=compute.RESULT_COLUMNS)
        out.attrs["derived"] = comparable.Derived().frame()
        return out
    milestone = (targets["kind"] == "milestone").to_numpy()
    numeric_codes = sorted(set(targets.loc[~milestone, "indicator_code"]))
    numeric_codes = sorted(set(numeric_codes) | set(load.weight_indicators(conn, numeric_codes)))
    milestone_codes = sorted(set(targets.loc[milestone, "indicator_code"]))
    jurisdictions = changes.series_jurisdictions(targets, succ, preds)
    obs = load.yearly_observations(conn, when, numeric_codes, jurisdictions=jurisdictions)
    done = load.milestone_completions(conn, when, milestone_codes, jurisdictions)
    return compute.evaluate_frames(targets, obs, succ, done, when, ceased, preds)


def _record(
    conn: psycopg.Connection,
    summary: RunSummary,
    body: list[bytes],
    derived: pd.DataFrame | None,
    notes: dict[str, Any],
    carry: _Carry | None = None,
) -> None:
    """Record the run (unless its fingerprint is the latest run's): with `carry`, the results and
    derived values it takes over from its base run, then its own."""
    t = time.perf_counter()
    when = summary.as_of
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        latest = _latest_run(conn)
        if carry is not None and (latest is None or latest.run_id != carry.base.run_id):
            raise _StaleBase
        if latest is not None and latest.fingerprint == summary.fingerprint and when >= latest.as_of:
            conn.execute(
                """UPDATE evaluation_runs
                   SET notes = notes || jsonb_build_object('last_confirmed_at', now(),
                                                           'last_confirmed_as_of', %s::timestamptz)
                   WHERE id = %s""",
                (when, latest.run_id),
            )
            summary.run_id = latest.run_id
            summary.reused = True
            return
        if carry is not None:
            notes = {
                **notes,
                "base_run_id": carry.base.run_id,
                "evaluated_targets": summary.evaluated_targets,
            }
        row = conn.execute(
            """INSERT INTO evaluation_runs (as_of, targets_count, data_fingerprint, notes, base_run_id)
               VALUES (%s, %s, %s, %s, %s) RETURNING id, started_at""",
            (
                when,
                summary.targets_count,
                summary.fingerprint,
                json.dumps(notes),
                None if carry is None else carry.base.run_id,
            ),
        ).fetchone()
        assert row is not None
        run_id, evaluated_at = row
        if carry is not None:
            _carry_derived(conn, carry, run_id)
        suffix = f"\t{run_id}\t{evaluated_at.isoformat()}\t{when.isoformat()}\n".encode()
        columns = sql.SQL(", ").join(
            sql.Identifier(c) for c in [*compute.RESULT_COLUMNS, "run_id", "evaluated_at", "as_of"]
        )
        with (
            conn.cursor() as cur,
            cur.copy(sql.SQL("COPY evaluations ({}) FROM STDIN").format(columns)) as copy,
        ):
            for start in range(0, len(body), 20_000):
                copy.write(b"".join(line + suffix for line in body[start : start + 20_000]))
        _write_derived(conn, run_id, derived)
        conn.execute(
            """UPDATE evaluation_runs
               SET finished_at = clock_timestamp(), results_count = %s,
                   notes = notes || %s::jsonb
               WHERE id = %s""",
            (
                summary.results_count,
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
    summary.phases["write"] = time.perf_counter() - t


def _carry_derived(conn: psycopg.Connection, carry: _Carry, run_id: int) -> None:
    """Copy the base run's derived values of the series this run did not derive again."""
    stored = sql.SQL(", ").join(sql.Identifier(c) for c in comparable.STORED_COLUMNS)
    conn.execute(
        sql.SQL(
            """INSERT INTO derived_observations (run_id, {stored})
               SELECT %s, {stored} FROM derived_observations d
               WHERE d.run_id = %s
                 AND (d.indicator_code, d.jurisdiction_id) NOT IN (
                     SELECT * FROM unnest(%s::text[], %s::text[]))"""
        ).format(stored=stored),
        (run_id, carry.base.run_id, [c for c, _ in carry.series], [j for _, j in carry.series]),
    )


def _write_derived(conn: psycopg.Connection, run_id: int, derived: pd.DataFrame | None) -> None:
    """The successors' values derived in this run, with their inputs (apart from observations)."""
    if derived is None or derived.empty:
        return
    columns = sql.SQL(", ").join(sql.Identifier(c) for c in comparable.STORED_COLUMNS)
    with (
        conn.cursor() as cur,
        cur.copy(sql.SQL("COPY derived_observations (run_id, {}) FROM STDIN").format(columns)) as copy,
    ):
        for rec in derived[list(comparable.STORED_COLUMNS)].itertuples(index=False):
            j, code, year, value, rule, weight, inputs, reason = rec
            copy.write_row(
                (
                    run_id,
                    j,
                    code,
                    int(year),
                    None if value != value else value,
                    rule,
                    _text_or_none(weight),
                    inputs,
                    _text_or_none(reason),  # a frame's missing text may be NaN: never the text 'nan'
                )
            )


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None
