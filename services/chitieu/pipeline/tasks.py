"""Task bodies of the DAGs, as plain functions: small JSON values in (ids, hashes, timestamps) and
out (counts, batch ids, statuses). No Airflow imports, no data frames through XCom, no shared
local temp files between tasks — so each task can run on any worker (Celery, Kubernetes).

Idempotency: ingestion is keyed on (source, resource, sha256) by the loader, which skips a file
already loaded; evaluation, alert sync and outbox draining take their clock from the DAG run
(`run_after`), never from now(), so a re-run of the same run writes nothing new.
"""

from __future__ import annotations

import json
import logging
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chitieu.db.connect import connect
from chitieu.errors import ChitieuError
from chitieu.jsonable import jsonable
from chitieu.pipeline import inbox
from chitieu.settings import get_settings

log = logging.getLogger(__name__)


class TaskFailed(ChitieuError):
    """A task finished its work but found something that must make the run fail (visible in Airflow).

    Its text is both sentences: Airflow's task log, where it is read, shows only str()."""

    code = "task_failed"

    def __str__(self) -> str:
        return self.both()


def _clock(value: str | datetime) -> datetime:
    ts = _parse_ts(value)
    if ts is None:
        raise ValueError("a run clock (ISO timestamp) is required")
    return ts


def _parse_ts(value: str | datetime | None) -> datetime | None:
    if value is None or value == "":
        return None
    ts = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def _spec(spec_id: str) -> Any:
    from chitieu.pipeline.dag_specs import load_spec

    return load_spec(spec_id)


def _batch_summary(result: Any) -> dict[str, Any]:
    """One IngestResult as a small JSON dict: its counts, and the first rejection reasons."""
    summary = result.summary() if callable(getattr(result, "summary", None)) else jsonable(result)
    out: dict[str, Any] = dict(jsonable(summary)) if isinstance(summary, dict) else {"detail": summary}
    rejected = getattr(result, "rejected", None) or []
    out["rejected_rows"] = jsonable(rejected[:5])
    return out


def _errors(batches: list[dict[str, Any]], lang: str) -> str:
    """The batches' errors in one language (a batch summary keeps each apart)."""
    return "; ".join(str((b.get("error") or {}).get(lang)) for b in batches)


def _count(batches: list[dict[str, Any]], key: str) -> int:
    return sum(int(b.get(key) or 0) for b in batches)


def _reconciled(batches: list[dict[str, Any]]) -> dict[str, int]:
    """The batches' cell reconciliations added up (cells = loaded + unchanged + ... + missing)."""
    total: dict[str, int] = {}
    for b in batches:
        for k, v in (b.get("reconciliation") or {}).items():
            total[k] = total.get(k, 0) + int(v or 0)
    return total


# --- ingestion DAGs (one per source spec) --------------------------------------------------------


def list_resources(spec_id: str) -> list[str]:
    """The independent units of work of a source (one mapped task each). May do network I/O."""
    from chitieu.ingest.connectors import get_connector

    spec = _spec(spec_id)
    if spec.kind == "spreadsheet" and not spec.resources:
        # One file named by the spec: each worker resolves it itself (no machine path in XCom).
        return [""]
    resources = get_connector(spec).resources()
    # A connector with no sub-resources still has one unit of work: the whole source ('').
    return [str(r) if r is not None else "" for r in resources] or [""]


def ingest_resource(spec_id: str, resource: str = "") -> dict[str, Any]:
    """Fetch, archive, parse, validate and load one resource of a source."""
    from chitieu.ingest.intake import ingest_source

    spec = _spec(spec_id)
    with connect(autocommit=True) as conn:
        results = ingest_source(conn, spec, resource or None)
    batches = [_batch_summary(r) for r in results]
    for b in batches:
        log.info("batch %s %s: cells %s", b.get("batch_id"), b.get("status"), b.get("reconciliation"))
    failed = [b for b in batches if b.get("status") == "failed"]
    if failed:
        # A fetch that failed (network, publisher down) is worth a retry with backoff; the failed
        # batch stays recorded in load_batches for the data-operations dashboard.
        where = f"{spec_id}:{resource or '*'}"
        raise TaskFailed(
            f"{where}: fetch failed: {_errors(failed, 'en')}",
            f"{where}: không tải được: {_errors(failed, 'vi')}",
        )
    return {
        "source": spec_id,
        "resource": resource,
        "batches": batches,
        "statuses": sorted({str(b.get("status")) for b in batches}),
        "rows_loaded": _count(batches, "loaded"),
        "rows_revised": _count(batches, "revised"),
        "rows_rejected": _count(batches, "rejected"),
        "reconciliation": _reconciled(batches),
    }


def summarise(results: list[dict[str, Any] | None]) -> dict[str, Any]:
    """Totals over the mapped results that exist (failed map indexes give none)."""
    done = [r for r in results if r]
    batches = [b for r in done for b in r.get("batches", [r])]
    statuses: dict[str, int] = {}
    for b in batches:
        statuses[str(b.get("status"))] = statuses.get(str(b.get("status")), 0) + 1
    return {
        "units": len(done),
        "batches": len(batches),
        "statuses": statuses,
        "batch_ids": [b.get("batch_id") for b in batches if b.get("batch_id") is not None][:50],
        "rows_loaded": _count(batches, "loaded"),
        "rows_revised": _count(batches, "revised"),
        "rows_rejected": _count(batches, "rejected"),
        "reconciliation": _reconciled(batches),
        # The change signal for evaluation: figures added or revised (an unchanged reload is not one).
        "new_data": _count(batches, "loaded") > 0,
    }


def unevaluated_uploads() -> list[int]:
    """Uploads loaded outside the inbox (the API, `chitieu ingest`) since the latest evaluation saw
    the data: nothing else announces them, so the inbox's announcement carries them to evaluation.

    A run has seen what was committed by its as_of (for a run confirming an unchanged result, the
    as_of of that confirmation), but never later than when it ran: a manual run dated in the future
    has not seen loads made after it."""
    with connect(autocommit=True) as conn:
        rows = conn.execute(
            """WITH seen AS (
                   SELECT max(greatest(
                              least(as_of, started_at),
                              least((notes->>'last_confirmed_as_of')::timestamptz,
                                    (notes->>'last_confirmed_at')::timestamptz))) AS upto
                   FROM evaluation_runs WHERE finished_at IS NOT NULL
               )
               SELECT b.id FROM load_batches b, seen
               WHERE b.source_id = 'upload' AND b.status = 'loaded' AND b.rows_loaded > 0
                 AND b.finished_at > coalesce(seen.upto, '-infinity')
               ORDER BY b.id"""
        ).fetchall()
    return [int(r[0]) for r in rows]


def inbox_announcement(results: list[dict[str, Any] | None]) -> dict[str, Any]:
    """The inbox run's totals; `new_data` also when uploads made elsewhere still await evaluation."""
    summary = summarise(results)
    own = set(summary["batch_ids"])
    pending = [b for b in unevaluated_uploads() if b not in own]
    summary["unevaluated_batch_ids"] = pending[:50]
    summary["new_data"] = bool(summary["new_data"] or pending)
    return summary


def verdict(results: list[dict[str, Any] | None], *, fail_on_rejected: bool = True) -> dict[str, Any]:
    """Fail (visibly) when a whole payload of a source was rejected; rows rejected inside a file
    are a normal outcome, quarantined with reasons."""
    summary = summarise(results)
    if fail_on_rejected:
        bad = [
            (f"{r.get('source')}:{r.get('resource') or '*'}", b)
            for r in results
            if r
            for b in r.get("batches", [])
            if b.get("status") in ("rejected", "failed")
        ]
        if bad:
            en, vi = (
                "\n".join(f"{where}: {_errors([b], lang)}" for where, b in bad) for lang in ("en", "vi")
            )
            raise TaskFailed(f"payload rejected whole:\n{en}", f"tệp bị từ chối toàn bộ:\n{vi}")
    return summary


# --- inbox DAG -------------------------------------------------------------------------------------


def import_inbox() -> list[int]:
    """Import every file waiting in this host's inbox into the archive (inbox items); the ids of
    every item still to be loaded (those of earlier runs too). Runs where the inbox folder is."""
    data_dir = get_settings().data_dir
    with connect(autocommit=True) as conn:
        for path in inbox.pending_files(data_dir):
            inbox.import_file(conn, Path(path), host=socket.gethostname())
        rows = conn.execute("SELECT id FROM inbox_items WHERE state = 'pending' ORDER BY id").fetchall()
    return [int(r[0]) for r in rows]


def ingest_inbox_item(item_id: int) -> dict[str, Any]:
    """Load one imported inbox file from the archive (on any worker); its report, also kept in
    inbox_items. A retry of an item already settled returns the stored report."""
    from chitieu.ingest.archive import read_archived
    from chitieu.ingest.connectors.spreadsheet import SpreadsheetConnector
    from chitieu.ingest.intake import ingest_payload
    from chitieu.ingest.records import Payload

    with connect(autocommit=True) as conn:
        row = conn.execute(
            "SELECT sha256, name, options, imported_at, state, report FROM inbox_items WHERE id = %s",
            (item_id,),
        ).fetchone()
        if row is None:
            raise TaskFailed(f"inbox item {item_id} not found", f"không tìm thấy tệp hộp thư {item_id}")
        sha, name, options, imported_at, state, stored = row
        if state != "pending":
            return dict(stored)
        indicator = (options or {}).get("indicator")
        payload = Payload(name=name, content=read_archived(sha, conn=conn), fetched_at=imported_at)
        result = ingest_payload(
            conn,
            payload,
            spec=None,
            source_id="upload",
            connector=SpreadsheetConnector(None, indicator=indicator),
            indicator=indicator,
        )
        batch = _batch_summary(result)
        outcome = "rejected" if batch.get("status") in ("rejected", "failed") else "processed"
        report = {
            "item": item_id,
            "source": "upload",
            "resource": name,
            "original_name": name,
            "options": options or {},
            "batches": [batch],
            "rows_loaded": int(batch.get("loaded") or 0),
            "rows_revised": int(batch.get("revised") or 0),
            "rows_rejected": int(batch.get("rejected") or 0),
            "outcome": outcome,
            "sha256": sha,
            "file": inbox.settled_name(sha, name),
        }
        conn.execute(
            """UPDATE inbox_items SET state = %s, report = %s::jsonb, settled_at = clock_timestamp()
               WHERE id = %s AND state = 'pending'""",
            (outcome, json.dumps(jsonable(report), ensure_ascii=False), item_id),
        )
    return report


def settle_inbox() -> dict[str, Any]:
    """Move this host's inbox files whose items are loaded to processed/ or rejected/, each with its
    report beside it. Runs where the inbox folder is; a file still pending stays for the next run."""
    data_dir = get_settings().data_dir
    moved: dict[str, int] = {}
    with connect(autocommit=True) as conn:
        for path in map(Path, inbox.pending_files(data_dir)):
            sha = inbox.sha256_file(path)
            row = conn.execute(
                "SELECT state, report FROM inbox_items WHERE sha256 = %s AND name = %s", (sha, path.name)
            ).fetchone()
            if row is None or row[0] == "pending":
                continue
            inbox.settle(data_dir, path, sha, str(row[0]), dict(row[1]))
            moved[str(row[0])] = moved.get(str(row[0]), 0) + 1
    return {"moved": moved}


# --- evaluation DAG ------------------------------------------------------------------------------


def evaluate_all(as_of: str | None = None) -> dict[str, Any]:
    from chitieu.evaluate.engine import evaluate

    with connect(autocommit=True) as conn:
        summary = evaluate(conn, as_of=_parse_ts(as_of))
    out: dict[str, Any] = jsonable(summary)
    return out


def sync_alerts(now: str, evaluation: dict[str, Any] | None = None) -> dict[str, Any]:
    """After a partial evaluation run (`evaluation`, evaluate_all's outcome), only the alerts of the
    targets it evaluated can change: the sync speaks for those."""
    from chitieu.alerts.lifecycle import sync_alerts as sync

    partial = evaluation or {}
    run_id = (
        partial.get("run_id") if partial.get("scope") == "changes" and not partial.get("reused") else None
    )
    with connect(autocommit=True) as conn:
        summary = sync(conn, _clock(now), evaluated_by=run_id)
    out: dict[str, Any] = jsonable(summary)
    return out


def refresh_dashboards() -> dict[str, Any]:
    from chitieu.dashboards.views import refresh

    with connect(autocommit=True) as conn:
        result = refresh(conn)
    return {"refreshed": jsonable(result)}


# --- notifications, deadlines --------------------------------------------------------------------


def drain_outbox(now: str, limit: int = 100) -> dict[str, Any]:
    from chitieu.alerts.outbox import drain

    with connect(autocommit=True) as conn:
        summary = drain(conn, _clock(now), limit=limit)
    out: dict[str, Any] = jsonable(summary)
    return out


def check_deadlines(now: str) -> dict[str, Any]:
    """Daily: reporting obligations due within CHITIEU_DEADLINE_WARNING_DAYS, and sources gone stale, are
    time-driven rules (no new data triggers them), so the daily run syncs every rule as of its date."""
    from chitieu.alerts import rules
    from chitieu.alerts.lifecycle import sync_alerts as sync

    clock = _clock(now)
    with connect(autocommit=True) as conn:
        due = rules.deadline_findings(conn, rules.local_date(clock))
        summary = sync(conn, clock)
    return {
        "now": clock.isoformat(),
        "deadlines_due": [f.fingerprint for f in due],
        "sync": jsonable(summary),
    }


# --- maintenance ---------------------------------------------------------------------------------

HYPERTABLES_AND_TABLES = ("observations", "evaluations", "load_batches", "rejected_rows", "alerts")


def analyze() -> dict[str, Any]:
    from chitieu.pipeline import maintenance

    with connect(autocommit=True) as conn:
        return maintenance.analyze(conn)


def prune_evaluations(retention_days: int | None = None) -> dict[str, Any]:
    from chitieu.pipeline import maintenance

    days = retention_days if retention_days is not None else get_settings().evaluation_retention_days
    with connect(autocommit=True) as conn:
        return maintenance.prune_evaluations(conn, retention_days=days)


def verify_archive(limit: int | None = None) -> dict[str, Any]:
    from chitieu.pipeline import maintenance

    with connect(autocommit=True) as conn:
        report = maintenance.verify_archive(conn, limit=limit)
    if report["missing"] or report["corrupt"]:
        missing, corrupt = len(report["missing"]), len(report["corrupt"])
        first = (report["missing"] + report["corrupt"])[:10]
        raise TaskFailed(
            f"archive integrity check failed: {missing} missing, {corrupt} corrupt: {first}",
            f"kho lưu trữ không toàn vẹn: thiếu {missing}, sai checksum {corrupt}: {first}",
        )
    return report
