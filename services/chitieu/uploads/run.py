"""One upload job through the ingestion path: its archived bytes (never the request's), checked
again for zip bombs by inflating them, parsed, validated and loaded like `chitieu ingest` does."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import psycopg

from chitieu.errors import ChitieuError
from chitieu.ingest.archive import read_archived, sha256_of
from chitieu.ingest.connectors.spreadsheet.sniff import detect
from chitieu.ingest.intake import ingest_bytes
from chitieu.settings import get_settings
from chitieu.uploads.checks import UploadRefused, check_zip_declared, check_zip_inflated
from chitieu.uploads.jobs import JobFailed, State, finish

log = logging.getLogger("chitieu.uploads")


@dataclass
class Run:
    """What running a job came to: `error` says why it failed (an `UploadRefused` when the file
    failed a check before ingestion)."""

    job_id: str
    state: State
    error: ChitieuError | None = None


def process(conn: psycopg.Connection[Any], job: dict[str, Any], *, attempts: int) -> Run:
    """Run one job whose lock the caller holds: the archived bytes through the ingestion path."""
    job_id = str(job["id"])
    settings = get_settings()

    def failed(error: ChitieuError, result_status: str) -> Run:
        finish(conn, job_id, state="failed", attempts=attempts, error=error, result_status=result_status)
        return Run(job_id, "failed", error)

    try:
        content = read_archived(str(job["file_sha256"]))
    except OSError as exc:
        return failed(
            JobFailed(
                f"cannot read the archived file ({exc})",
                f"Không đọc được tệp đã lưu trữ {job['archived_path']}",
            ),
            "failed",
        )
    if sha256_of(content) != job["file_sha256"]:
        return failed(
            JobFailed("the archived file does not match its sha256", "Tệp lưu trữ không khớp mã sha256"),
            "failed",
        )
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
        return failed(refused, "rejected")
    except psycopg.OperationalError:
        raise  # the database went away: the job stays for the next attempt
    except Exception as exc:  # a bug or a file that breaks the reader: the job says so, the API goes on
        log.exception("upload job %s failed", job_id)
        unexpected = f"{type(exc).__name__}: {exc}"
        return failed(
            JobFailed(
                f"unexpected error while loading: {unexpected}",
                f"Lỗi không mong đợi khi nạp tệp: {unexpected}",
            ),
            "failed",
        )
    finish(conn, job_id, state="done", attempts=attempts, result=result)
    return Run(job_id, "done")
