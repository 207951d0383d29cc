"""Upload jobs: an uploaded file, archived by its sha256, and what loading it did.

Small files (up to API_BACKGROUND_UPLOAD_MB) are loaded while the client waits, in the API process;
larger ones by the upload worker, a process of its own (upload_worker.py), one at a time. Both run
`process()`, which reads the job's input from the archive (never from the request), so a job left
queued or running by a stopped process is simply run again when a worker starts.

Whoever runs a job holds a session advisory lock on it for the whole run, so with several workers
each job is run by one of them, and a job whose lock is free while its state says 'running' was
abandoned (the process holding it died, and the lock with its connection).
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import orjson
import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from pydantic import BaseModel, Field

from chitieu.api.upload_checks import UploadRefused, check_zip_declared, check_zip_inflated, detect
from chitieu.ingest.archive import read_archived, sha256_of
from chitieu.ingest.intake import IngestResult, ingest_bytes
from chitieu.settings import get_settings

log = logging.getLogger("chitieu.api")

REJECTED_CAP = 1000  # rejected rows in a report; all of them are in rejected_rows
SAMPLE_ROWS = 50  # observations shown by a dry run
MAX_ATTEMPTS = 3  # a job that took its process down this often is given up
POLL_SECONDS = 15.0  # jobs queued without a notice (another API's) are seen at least this often
CHANNEL = "chitieu_upload_jobs"  # NOTIFYed with the job id when a job is queued

State = Literal["queued", "running", "done", "failed"]


# --- the answers (OpenAPI schemas) -------------------------------------------------------------------


class RejectedRow(BaseModel):
    sheet: str | None = Field(examples=["Mẫu nhập liệu"])
    row: int | None = Field(description="Row number in the sheet (1-based)", examples=[14])
    column: str | None = Field(examples=["Giá trị"])
    raw: str | None = Field(description="The cell's text as uploaded", examples=["mười hai"])
    reason_code: str | None = Field(examples=["unparsable_value"])
    reason_vi: str = Field(examples=["không đọc được giá trị 'mười hai'"])
    reason_en: str = Field(examples=["unreadable value 'mười hai'"])


class IngestSummary(BaseModel):
    file: str | None = Field(examples=["mau-nhap-lieu-4-tinh-2020-2025.xlsx"])
    source: str = Field(examples=["upload"])
    sha256: str | None = Field(examples=["9f2c0c5e4b…"])
    batch_id: int | None = Field(description="The load_batches row (provenance of every figure loaded)")
    status: Literal["loaded", "skipped", "rejected", "dry_run", "failed"] = Field(examples=["loaded"])
    read: int = Field(description="Rows read", examples=[146])
    loaded: int = Field(description="Rows written: new figures and revisions", examples=[144])
    new: int = Field(examples=[143])
    unchanged: int = Field(
        description="Figures equal to their current vintage (nothing written)", examples=[0]
    )
    revised: int = Field(
        description="Figures that differ from their current vintage (a new vintage)", examples=[1]
    )
    rejected: int = Field(examples=[2])
    missing_skipped: int = Field(description="Cells marked missing ('-', 'x', '..'), skipped", examples=[0])
    resolved_rejections: int = Field(
        default=0,
        description="Rows that earlier loads of this same file had rejected and that passed this time "
        "(their quarantine entries are marked resolved)",
        examples=[0],
    )
    reprocess_of: int | None = Field(
        default=None, description="A reprocess: the batch that first loaded this file", examples=[None]
    )
    error: str | None = Field(description="Why the whole file was rejected (Vietnamese / English)")
    reconciliation: dict[str, int] | None = Field(
        default=None,
        description="Where every non-empty cell of the file's tables went: cells = loaded + unchanged + "
        "duplicate + rejected + label + missing",
        examples=[
            {
                "cells": 160,
                "loaded": 144,
                "unchanged": 0,
                "duplicate": 0,
                "rejected": 2,
                "label": 14,
                "missing": 0,
            }
        ],
    )


class UploadReport(BaseModel):
    """The validation report."""

    summary: IngestSummary
    rejected: list[RejectedRow] = Field(description=f"The rejected rows, at most {REJECTED_CAP}")
    rejected_total: int = Field(examples=[2])
    observations_sample: list[dict[str, Any]] = Field(
        description=f"Dry runs: the first {SAMPLE_ROWS} figures that would be loaded, with their provenance"
    )
    observations_total: int = Field(description="Dry runs: how many figures would be loaded", examples=[0])
    notes: list[str] = Field(description="What the reader noticed (sheets without a table, …)")


class UploadJobBrief(BaseModel):
    id: uuid.UUID
    status_url: str = Field(examples=["/api/v1/uploads/7d0c2a8e-1f7b-4c55-9d8e-2b1f0c3a4d5e"])
    state: State = Field(
        description="queued → running → done (the report says what loading did) or failed (`error` says why)"
    )
    file_name: str = Field(examples=["mau-nhap-lieu-4-tinh-2020-2025.xlsx"])
    file_sha256: str = Field(description="The archive key of the uploaded bytes")
    size_bytes: int = Field(examples=[10934])
    indicator: str | None = Field(description="The indicator given for a single-indicator sheet")
    dry_run: bool
    reprocess: bool = Field(description="Loaded again although this file was loaded before")
    uploaded_by: str | None = Field(description="The API key's name", examples=["sở KH&CN Ninh Thuận"])
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    attempts: int = Field(description="Runs started (a stopped API resumes its jobs)", examples=[1])
    batch_id: int | None
    result_status: str | None = Field(
        description="loaded | skipped | rejected | dry_run; null until done", examples=["loaded"]
    )
    error: str | None = Field(description="Why the file was refused or could not be loaded (vi / en)")
    summary: IngestSummary | None


class UploadJob(UploadJobBrief):
    report: UploadReport | None = Field(description="The validation report, once done")


class UploadProblem(BaseModel):
    """A refused upload: the problem, and the job that keeps the archived file and its report."""

    type: str = Field(examples=["urn:chitieu:problem:upload-rejected"])
    title: str
    status: int = Field(examples=[422])
    detail: str
    title_vi: str
    detail_vi: str
    instance: str | None = None
    job_id: uuid.UUID | None = Field(default=None, description="Absent when nothing was kept (an empty file)")
    status_url: str | None = None
    report: UploadReport | None = None


# --- jobs in the database ------------------------------------------------------------------------------

JOB_COLUMNS = """
    j.id, j.state, j.file_name, j.file_sha256, j.size_bytes, j.archived_path, j.indicator, j.dry_run,
    j.reprocess,
    k.name AS uploaded_by, j.created_at, j.started_at, j.finished_at,
    coalesce((j.report->>'attempts')::int, 0) AS attempts,
    j.batch_id, j.result_status, j.error, j.report->'summary' AS summary
"""
JOB_FROM = "upload_jobs j LEFT JOIN api_keys k ON k.id = j.api_key_id"


def _lock_key(job_id: uuid.UUID | str) -> str:
    return f"chitieu-upload-job:{job_id}"


def _try_lock(conn: psycopg.Connection[Any], job_id: uuid.UUID | str) -> bool:
    row = conn.execute(
        "SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (_lock_key(job_id),)
    ).fetchone()
    return bool(row and row[0])


def unlock(conn: psycopg.Connection[Any], job_id: uuid.UUID | str) -> None:
    if not conn.closed:
        with contextlib.suppress(psycopg.Error):
            conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (_lock_key(job_id),))


@contextlib.contextmanager
def holding(conn: psycopg.Connection[Any], job_id: uuid.UUID | str) -> Iterator[None]:
    """The job's lock for as long as the block runs (always released: pooled connections are reused)."""
    conn.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (_lock_key(job_id),))
    try:
        yield
    finally:
        unlock(conn, job_id)


def _jsonable(data: Any) -> Any:
    """Ingestion's rows hold numpy numbers and dates: plain JSON values for jsonb and the answer."""
    return orjson.loads(
        orjson.dumps(data, default=str, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)
    )


def fetch_job(
    conn: psycopg.Connection[Any], job_id: uuid.UUID | str, *, report: bool = True
) -> dict[str, Any] | None:
    extra = ", j.report" if report else ""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(f"SELECT {JOB_COLUMNS}{extra} FROM {JOB_FROM} WHERE j.id = %s", (str(job_id),))
        return cur.fetchone()


def create_job(
    conn: psycopg.Connection[Any],
    *,
    job_id: uuid.UUID,
    sha256: str,
    file_name: str,
    size: int,
    archived_path: Path,
    indicator: str | None,
    dry_run: bool,
    api_key_id: int | None,
    state: State,
    reprocess: bool = False,
    error: str | None = None,
    result_status: str | None = None,
) -> None:
    """`running` (loaded now, by the caller, who holds its lock), `queued` (the worker's), or
    `failed` (refused: kept with its reason)."""
    conn.execute(
        """INSERT INTO upload_jobs (id, file_sha256, file_name, size_bytes, archived_path, indicator, dry_run,
                                    reprocess, api_key_id, state, started_at, finished_at, result_status,
                                    error, report)
           VALUES (%(id)s, %(sha)s, %(name)s, %(size)s, %(path)s, %(indicator)s, %(dry_run)s, %(reprocess)s,
                   %(key)s, %(state)s,
                   CASE WHEN %(state)s <> 'queued' THEN now() END,
                   CASE WHEN %(state)s = 'failed' THEN now() END,
                   %(result_status)s, %(error)s, %(report)s)""",
        {
            "id": str(job_id),
            "sha": sha256,
            "name": file_name,
            "size": size,
            "path": str(archived_path),
            "indicator": indicator,
            "dry_run": dry_run,
            "reprocess": reprocess,
            "key": api_key_id,
            "state": state,
            "result_status": result_status,
            "error": error,
            "report": Jsonb({"attempts": 1 if state == "running" else 0}),
        },
    )
    if state == "queued":
        conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(job_id)))


def _finish(
    conn: psycopg.Connection[Any],
    job_id: uuid.UUID | str,
    *,
    state: State,
    attempts: int,
    result: IngestResult | None = None,
    error: str | None = None,
    result_status: str | None = None,
) -> None:
    report: dict[str, Any] = {"attempts": attempts}
    if result is not None:
        report |= build_report(result)
    conn.execute(
        """UPDATE upload_jobs SET state = %s, finished_at = clock_timestamp(), batch_id = %s,
                  result_status = %s, report = %s, error = %s
           WHERE id = %s""",
        (
            state,
            result.batch_id if result is not None else None,
            result.status if result is not None else result_status,
            Jsonb(report),
            error if error is not None else (result.error if result is not None else None),
            str(job_id),
        ),
    )


def build_report(result: IngestResult) -> dict[str, Any]:
    rejected = [
        {
            "sheet": None if r.get("sheet") is None else str(r.get("sheet")),
            "row": r.get("row"),
            "column": None if r.get("column") is None else str(r.get("column")),
            "raw": None if r.get("raw") is None else str(r.get("raw")),
            "reason_code": r.get("reason_code"),
            "reason_vi": r.get("reason_vi") or "",
            "reason_en": r.get("reason_en") or "",
        }
        for r in result.rejected[:REJECTED_CAP]
    ]
    report = {
        "summary": result.summary(),
        "rejected": rejected,
        "rejected_total": len(result.rejected),
        "observations_sample": result.observations[:SAMPLE_ROWS],
        "observations_total": len(result.observations),
        "notes": [str(n) for n in result.notes],
    }
    out: dict[str, Any] = _jsonable(report)
    for row in out["rejected"]:  # numpy floats of a row column with gaps arrive as 14.0
        row["row"] = None if row["row"] is None else int(row["row"])
    return out


def good_rows(report: dict[str, Any]) -> int:
    """Figures the file holds that are fine: loaded, unchanged, or (dry run) loadable."""
    s = report["summary"]
    if s["status"] == "dry_run":
        return int(report["observations_total"])
    return int(s["new"]) + int(s["revised"]) + int(s["unchanged"])


@dataclass
class Run:
    """What running a job came to (`refused`: the file failed a check before ingestion)."""

    job_id: str
    state: State
    refused: UploadRefused | None = None
    wrote: bool = False  # the database's figures, batches or quarantine changed


def process(conn: psycopg.Connection[Any], job: dict[str, Any], *, attempts: int) -> Run:
    """Run one job whose lock the caller holds: the archived bytes through the ingestion path."""
    job_id = str(job["id"])
    settings = get_settings()
    try:
        content = read_archived(str(job["file_sha256"]))
    except OSError as exc:
        error = (
            f"Không đọc được tệp đã lưu trữ {job['archived_path']} / cannot read the archived file ({exc})"
        )
        _finish(conn, job_id, state="failed", attempts=attempts, error=error, result_status="failed")
        return Run(job_id, "failed")
    if sha256_of(content) != job["file_sha256"]:
        error = "Tệp lưu trữ không khớp mã sha256 / the archived file does not match its sha256"
        _finish(conn, job_id, state="failed", attempts=attempts, error=error, result_status="failed")
        return Run(job_id, "failed")
    try:
        if detect(content).kind in ("xlsx", "ods"):
            check_zip_declared(content, max_unzipped_mb=settings.api_max_unzipped_mb)
            check_zip_inflated(content, max_unzipped_mb=settings.api_max_unzipped_mb)
        result = ingest_bytes(
            conn,
            content,
            job["file_name"],
            indicator=job["indicator"],
            dry_run=job["dry_run"],
            reprocess=job["reprocess"],
        )
    except UploadRefused as refused:
        error = f"{refused.vi} / {refused.en}"
        _finish(conn, job_id, state="failed", attempts=attempts, error=error, result_status="rejected")
        return Run(job_id, "failed", refused=refused)
    except psycopg.OperationalError:
        raise  # the database went away: the job stays for the next attempt
    except Exception as exc:  # a bug or a file that breaks the reader: the job says so, the API goes on
        log.exception("upload job %s failed", job_id)
        error = (
            f"Lỗi không mong đợi khi nạp tệp / unexpected error while loading: {type(exc).__name__}: {exc}"
        )
        _finish(conn, job_id, state="failed", attempts=attempts, error=error, result_status="failed")
        return Run(job_id, "failed", wrote=not job["dry_run"])
    _finish(conn, job_id, state="done", attempts=attempts, result=result)
    return Run(job_id, "done", wrote=not job["dry_run"])


def claim_next(conn: psycopg.Connection[Any]) -> tuple[dict[str, Any], int] | None:
    """The oldest queued job, or one left running by a process that is gone, now locked by us."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            "SELECT id FROM upload_jobs WHERE state IN ('queued', 'running') ORDER BY created_at, id LIMIT 50"
        )
        candidates = [r["id"] for r in cur.fetchall()]
    for job_id in candidates:
        if not _try_lock(conn, job_id):
            continue  # being run by someone
        job = fetch_job(conn, job_id)
        if job is None or job["state"] not in ("queued", "running"):
            unlock(conn, job_id)
            continue
        attempts = int(job["attempts"]) + 1
        if attempts > MAX_ATTEMPTS:
            error = (
                f"Đã bỏ sau {MAX_ATTEMPTS} lần thử, mỗi lần tiến trình nạp đều dừng giữa chừng / "
                f"given up after {MAX_ATTEMPTS} attempts, each interrupted by its process stopping"
            )
            _finish(conn, job_id, state="failed", attempts=attempts - 1, error=error, result_status="failed")
            unlock(conn, job_id)
            continue
        conn.execute(
            """UPDATE upload_jobs SET state = 'running', started_at = clock_timestamp(),
                      report = jsonb_build_object('attempts', %s::int)
               WHERE id = %s""",
            (attempts, job_id),
        )
        return job, attempts
    return None
