"""An upload job keeps its error's two languages apart (with its code and status); jobs recorded
before, as one "vi / en" line, are split by the migration that brought the columns."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import psycopg
import pytest

from chitieu.db import migrate
from chitieu.uploads import jobs

pytestmark = pytest.mark.db

SPLIT_AT = "130"  # the migration that split the error


def _before_split(tmp_path: Path) -> Path:
    """The migrations as they were before the split (and today's views)."""
    before = tmp_path / "migrations"
    before.mkdir()
    for path in migrate.MIGRATIONS_DIR.glob("*.sql"):
        if path.name[:3] < SPLIT_AT:
            shutil.copy(path, before / path.name)
    shutil.copytree(migrate.MIGRATIONS_DIR / "views", before / "views")
    return before


def _old_job(conn: psycopg.Connection, name: str, result_status: str, error: str | None) -> None:
    conn.execute(
        """INSERT INTO upload_jobs (file_sha256, file_name, size_bytes, state, result_status, error)
           VALUES ('0', %s, 1, 'failed', %s, %s)""",
        (name, result_status, error),
    )


def test_jobs_recorded_as_one_line_are_split_into_their_languages(
    empty_db: psycopg.Connection, tmp_path: Path
) -> None:
    migrate.migrate(empty_db, _before_split(tmp_path))
    _old_job(empty_db, "bom.xlsx", "rejected", "Tệp nén đáng ngờ / a suspicious archive: 1,000×")
    _old_job(empty_db, "lost.xlsx", "failed", "Không đọc được tệp đã lưu trữ / cannot read the archived file")
    _old_job(empty_db, "plain.xlsx", "failed", "no separator")
    _old_job(empty_db, "fine.xlsx", "loaded", None)
    applied = migrate.migrate(empty_db)
    assert applied[0][:3] == SPLIT_AT
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
