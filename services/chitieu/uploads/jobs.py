"""The `upload_jobs` table: a job is created when a file is received (queued, running, or failed when
refused), finished with its report or its reason, and claimed by a worker when it waits."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from chitieu.errors import ChitieuError
from chitieu.ingest.intake import IngestResult
from chitieu.uploads.locks import try_lock, unlock
from chitieu.uploads.report import build_report

MAX_ATTEMPTS = 3  # a job that took its process down this often is given up
CHANNEL = "chitieu_upload_jobs"  # NOTIFYed with the job id when a job is queued

State = Literal["queued", "running", "done", "failed"]


class JobFailed(ChitieuError):
    """Why a job could not be run to its end (not the file's rows: those are in its report)."""

    code = "upload-failed"


class FileRejected(ChitieuError):
    """Ingestion rejected the whole file (it could not be read): the client's file, not our failure."""

    code = "file-rejected"
    http_status = 422


_COLUMNS = sql.SQL("""
    j.id, j.state, j.file_name, j.file_sha256, j.size_bytes, j.archived_path, j.indicator, j.dry_run,
    j.reprocess,
    k.name AS uploaded_by, j.created_at, j.started_at, j.finished_at,
    coalesce((j.report->>'attempts')::int, 0) AS attempts,
    j.batch_id, j.result_status, j.report->'summary' AS summary,
    CASE WHEN j.error_en IS NOT NULL THEN jsonb_build_object(
        'code', j.error_code, 'status', j.error_status, 'vi', j.error_vi, 'en', j.error_en) END AS error
""")
_FROM = sql.SQL("upload_jobs j LEFT JOIN api_keys k ON k.id = j.api_key_id")
_ONE = sql.SQL("SELECT {columns}, j.report FROM {source} WHERE j.id = %s").format(
    columns=_COLUMNS, source=_FROM
)
_BRIEF = sql.SQL("SELECT {columns} FROM {source} WHERE j.id = %s").format(columns=_COLUMNS, source=_FROM)
# Newest first, by (created_at, id) keyset; the list leaves the reports out.
_PAGE = sql.SQL("""SELECT {columns} FROM {source}
    WHERE (%(state)s::text IS NULL OR j.state = %(state)s)
      AND (%(ts)s::timestamptz IS NULL OR (j.created_at, j.id) < (%(ts)s, %(id)s::uuid))
    ORDER BY j.created_at DESC, j.id DESC
    LIMIT %(limit)s""").format(columns=_COLUMNS, source=_FROM)


def fetch_job(
    conn: psycopg.Connection[Any], job_id: uuid.UUID | str, *, report: bool = True
) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(_ONE if report else _BRIEF, (str(job_id),))
        return cur.fetchone()


async def read_job(conn: psycopg.AsyncConnection[Any], job_id: uuid.UUID) -> list[dict[str, Any]]:
    """The job with its report, or no row (the API's reads run on its asynchronous pool and take
    rows, like every read query)."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_ONE, (job_id,))
        return await cur.fetchall()


async def read_jobs(
    conn: psycopg.AsyncConnection[Any],
    *,
    state: State | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Jobs newest first, without their reports, after the keyset (created_at, id) when given."""
    after_ts, after_id = after if after is not None else (None, None)
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_PAGE, {"state": state, "ts": after_ts, "id": after_id, "limit": limit})
        return await cur.fetchall()


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
    error: ChitieuError | None = None,
    result_status: str | None = None,
) -> None:
    """`running` (loaded now, by the caller, who holds its lock), `queued` (the worker's), or
    `failed` (refused: kept with its reason)."""
    conn.execute(
        """INSERT INTO upload_jobs (id, file_sha256, file_name, size_bytes, archived_path, indicator, dry_run,
                                    reprocess, api_key_id, state, started_at, finished_at, result_status,
                                    error_code, error_vi, error_en, error_status, report)
           VALUES (%(id)s, %(sha)s, %(name)s, %(size)s, %(path)s, %(indicator)s, %(dry_run)s, %(reprocess)s,
                   %(key)s, %(state)s,
                   CASE WHEN %(state)s <> 'queued' THEN now() END,
                   CASE WHEN %(state)s = 'failed' THEN now() END,
                   %(result_status)s, %(error_code)s, %(error_vi)s, %(error_en)s, %(error_status)s,
                   %(report)s)""",
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
            **_error_columns(error),
            "report": Jsonb({"attempts": 1 if state == "running" else 0}),
        },
    )
    if state == "queued":
        conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(job_id)))


def finish(
    conn: psycopg.Connection[Any],
    job_id: uuid.UUID | str,
    *,
    state: State,
    attempts: int,
    result: IngestResult | None = None,
    error: ChitieuError | None = None,
    result_status: str | None = None,
) -> None:
    """Record how a job ended: its ingestion result (and report), or why it failed: `error`, else
    the reason ingestion rejected the whole file for, each language kept apart."""
    report: dict[str, Any] = {"attempts": attempts}
    if result is not None:
        report |= build_report(result)
    if error is None and result is not None:
        error = _file_rejection(result)
    conn.execute(
        """UPDATE upload_jobs SET state = %(state)s, finished_at = clock_timestamp(), batch_id = %(batch)s,
                  result_status = %(result_status)s, report = %(report)s, error_code = %(error_code)s,
                  error_vi = %(error_vi)s, error_en = %(error_en)s, error_status = %(error_status)s
           WHERE id = %(id)s""",
        {
            "state": state,
            "batch": result.batch_id if result is not None else None,
            "result_status": result.status if result is not None else result_status,
            "report": Jsonb(report),
            **_error_columns(error),
            "id": str(job_id),
        },
    )


def _error_columns(error: ChitieuError | None) -> dict[str, Any]:
    """The stored error: its code, its two sentences and the status an answer carrying it has."""
    if error is None:
        return {"error_code": None, "error_vi": None, "error_en": None, "error_status": None}
    code = None if error.code == ChitieuError.code else error.code
    return {"error_code": code, "error_vi": error.vi, "error_en": error.en, "error_status": error.http_status}


def _file_rejection(result: IngestResult) -> ChitieuError | None:
    """Why ingestion rejected the whole file, as its file-level rejection record (no row) words it for
    the client (the reader's own error is inside that sentence)."""
    if result.error is None:
        return None
    for record in result.rejected:
        if record.get("row") is None and record.get("reason_en") and record.get("reason_vi"):
            return FileRejected(
                str(record["reason_en"]), str(record["reason_vi"]), code=record.get("reason_code") or None
            )
    # No such record (never written by the ingestion today): the reader's own error.
    return FileRejected(result.error.en, result.error.vi, code=result.error.code)


def claim_next(conn: psycopg.Connection[Any]) -> tuple[dict[str, Any], int] | None:
    """The oldest queued job, or one left running by a process that is gone, now locked by us."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            "SELECT id FROM upload_jobs WHERE state IN ('queued', 'running') ORDER BY created_at, id LIMIT 50"
        )
        candidates = [r["id"] for r in cur.fetchall()]
    for job_id in candidates:
        if not try_lock(conn, job_id):
            continue  # being run by someone
        job = fetch_job(conn, job_id)
        if job is None or job["state"] not in ("queued", "running"):
            unlock(conn, job_id)
            continue
        attempts = int(job["attempts"]) + 1
        if attempts > MAX_ATTEMPTS:
            error = JobFailed(
                f"given up after {MAX_ATTEMPTS} attempts, each interrupted by its process stopping",
                f"Đã bỏ sau {MAX_ATTEMPTS} lần thử, mỗi lần tiến trình nạp đều dừng giữa chừng",
            )
            finish(conn, job_id, state="failed", attempts=attempts - 1, error=error, result_status="failed")
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
