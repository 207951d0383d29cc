"""An upload job and a load batch keep their error's two languages apart (with its code, and a job its
status); what was recorded before as one "vi / en" line is split by the migration that brought the
columns (an upload's report summary too)."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import psycopg
import pytest

from chitieu.db import migrate
from chitieu.uploads import jobs

pytestmark = pytest.mark.db

JOBS_SPLIT_AT = "130"  # the migration that split an upload job's error
BATCHES_SPLIT_AT = "131"  # the one that split a batch's error and a report's summary.error


def _migrated_before(conn: psycopg.Connection, tmp_path: Path, split_at: str) -> None:
    """The database as the migrations before the split left it (today's views read the new columns,
    so none are applied: the numbered migrations do not need them)."""
    before = tmp_path / "migrations"
    before.mkdir()
    for path in migrate.MIGRATIONS_DIR.glob("*.sql"):
        if path.name[:3] < split_at:
            shutil.copy(path, before / path.name)
    migrate.migrate(conn, before)


def _old_job(conn: psycopg.Connection, name: str, result_status: str, error: str | None) -> None:
    conn.execute(
        """INSERT INTO upload_jobs (file_sha256, file_name, size_bytes, state, result_status, error)
           VALUES ('0', %s, 1, 'failed', %s, %s)""",
        (name, result_status, error),
    )


def test_jobs_recorded_as_one_line_are_split_into_their_languages(
    empty_db: psycopg.Connection, tmp_path: Path
) -> None:
    _migrated_before(empty_db, tmp_path, JOBS_SPLIT_AT)
    _old_job(empty_db, "bom.xlsx", "rejected", "Tệp nén đáng ngờ / a suspicious archive: 1,000×")
    _old_job(empty_db, "lost.xlsx", "failed", "Không đọc được tệp đã lưu trữ / cannot read the archived file")
    _old_job(empty_db, "plain.xlsx", "failed", "no separator")
    _old_job(empty_db, "fine.xlsx", "loaded", None)
    applied = migrate.migrate(empty_db)
    assert applied[0][:3] == JOBS_SPLIT_AT
    rows = empty_db.execute(
        "SELECT file_name, error_vi, error_en, error_status, error_code FROM upload_jobs ORDER BY file_name"
    ).fetchall()
    assert rows == [
        ("bom.xlsx", "Tệp nén đáng ngờ", "a suspicious archive: 1,000×", 422, None),
        ("fine.xlsx", None, None, None, None),
        ("lost.xlsx", "Không đọc được tệp đã lưu trữ", "cannot read the archived file", 500, None),
        ("plain.xlsx", "no separator", "no separator", 500, None),
    ]
    # The one-line column is gone: nothing can write the joined form again.
    gone = empty_db.execute(
        """SELECT count(*) FROM information_schema.columns
           WHERE table_name = 'upload_jobs' AND column_name = 'error'"""
    ).fetchone()
    assert gone == (0,)


def test_batches_and_reports_recorded_as_one_line_are_split_into_their_languages(
    empty_db: psycopg.Connection, tmp_path: Path
) -> None:
    _migrated_before(empty_db, tmp_path, BATCHES_SPLIT_AT)
    for name, status, error in [
        ("hong.xlsx", "rejected", "Tệp không phải bảng tính / not a workbook"),
        ("down", "failed", "ConnectError: connection refused"),
        ("ok.xlsx", "loaded", None),
    ]:
        empty_db.execute(
            """INSERT INTO load_batches (source_id, file_name, fetched_at, status, error)
               VALUES ('upload', %s, now(), %s, %s)""",
            (name, status, error),
        )
    for name, summary in [
        ("hong.xlsx", {"status": "rejected", "error": "Tệp không phải bảng tính / not a workbook"}),
        ("ok.xlsx", {"status": "loaded", "error": None}),
    ]:
        empty_db.execute(
            """INSERT INTO upload_jobs (file_sha256, file_name, size_bytes, state, result_status, report)
               VALUES ('0', %s, 1, 'done', %s, %s::jsonb)""",
            (name, summary["status"], json.dumps({"summary": summary, "rejected": []})),
        )
    applied = migrate.migrate(empty_db)
    assert applied[0][:3] == BATCHES_SPLIT_AT
    batches = empty_db.execute(
        "SELECT file_name, error_code, error_vi, error_en FROM load_batches ORDER BY file_name"
    ).fetchall()
    assert batches == [
        ("down", None, "ConnectError: connection refused", "ConnectError: connection refused"),
        ("hong.xlsx", None, "Tệp không phải bảng tính", "not a workbook"),
        ("ok.xlsx", None, None, None),
    ]
    reports = empty_db.execute(
        "SELECT file_name, report -> 'summary' -> 'error' FROM upload_jobs ORDER BY file_name"
    ).fetchall()
    assert reports == [
        ("hong.xlsx", {"code": None, "vi": "Tệp không phải bảng tính", "en": "not a workbook"}),
        ("ok.xlsx", None),
    ]
    # The views (re-applied after the migration) read the columns.
    shown = empty_db.execute(
        "SELECT file_name, error_vi, error_en FROM dash_batches WHERE status = 'rejected'"
    ).fetchall()
    assert shown == [("hong.xlsx", "Tệp không phải bảng tính", "not a workbook")]
    gone = empty_db.execute(
        """SELECT count(*) FROM information_schema.columns
           WHERE table_name = 'load_batches' AND column_name = 'error'"""
    ).fetchone()
    assert gone == (0,)


def test_a_failed_job_keeps_both_sentences_its_code_and_status(db: psycopg.Connection) -> None:
    job_id = uuid.uuid4()
    jobs.create_job(
        db,
        job_id=job_id,
        sha256="0" * 64,
        file_name="x.xlsx",
        size=1,
        archived_path=Path("unused"),
        indicator=None,
        dry_run=False,
        api_key_id=None,
        state="running",
    )
    failure = jobs.JobFailed("cannot read the archived file", "Không đọc được tệp đã lưu trữ")
    jobs.finish(db, job_id, state="failed", attempts=1, error=failure, result_status="failed")
    job = jobs.fetch_job(db, job_id)
    assert job is not None
    # Our failure, not the file's: 500.
    assert job["error"] == {
        "code": "upload-failed",
        "status": 500,
        "vi": "Không đọc được tệp đã lưu trữ",
        "en": "cannot read the archived file",
    }
    with pytest.raises(psycopg.errors.CheckViolation):
        db.execute("UPDATE upload_jobs SET error_vi = NULL WHERE id = %s", (job_id,))
