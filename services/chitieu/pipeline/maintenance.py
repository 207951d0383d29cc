"""Weekly housekeeping: planner statistics, evaluation history pruning, archive integrity.

Works on the Apache-2 TimescaleDB build (no retention policies): Airflow schedules what a
licensed server would do with a job.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

ANALYZED = (
    "observations",
    "evaluations",
    "evaluation_runs",
    "load_batches",
    "rejected_rows",
    "alerts",
    "notification_outbox",
)


def analyze(conn: psycopg.Connection) -> dict[str, Any]:
    for table in ANALYZED:
        conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table)))
    return {"analyzed": list(ANALYZED)}


def prune_evaluations(conn: psycopg.Connection, *, retention_days: int) -> dict[str, Any]:
    """Drop evaluation chunks older than `retention_days` before the LATEST evaluation (not before
    now(): a pipeline paused for a year must not lose its last statuses), then the runs left empty."""
    latest = conn.execute("SELECT max(evaluated_at) FROM evaluations").fetchone()
    if latest is None or latest[0] is None:
        return {"cutoff": None, "chunks_dropped": 0, "runs_deleted": 0}
    cutoff = latest[0] - timedelta(days=retention_days)
    dropped = conn.execute(
        "SELECT drop_chunks('evaluations', older_than => %s::timestamptz)", (cutoff,)
    ).fetchall()
    runs = conn.execute(
        """DELETE FROM evaluation_runs r
           WHERE r.started_at < %s
             AND NOT EXISTS (SELECT 1 FROM evaluations e WHERE e.run_id = r.id)""",
        (cutoff,),
    )
    conn.commit()
    return {"cutoff": cutoff.isoformat(), "chunks_dropped": len(dropped), "runs_deleted": runs.rowcount}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_archive(conn: psycopg.Connection, data_dir: Path, *, limit: int | None = None) -> dict[str, Any]:
    """Every archived raw file still exists and still hashes to the checksum it was loaded under."""
    rows = conn.execute(
        """SELECT DISTINCT ON (file_sha256) file_sha256, archived_path
           FROM load_batches
           WHERE archived_path IS NOT NULL AND file_sha256 IS NOT NULL
           ORDER BY file_sha256, id DESC
           LIMIT %s""",
        (limit,),
    ).fetchall()
    missing: list[str] = []
    corrupt: list[str] = []
    for sha, archived in rows:
        path = Path(archived)
        if not path.is_absolute():
            path = data_dir / path
        if not path.exists():
            missing.append(str(path))
        elif _sha256(path) != sha:
            corrupt.append(str(path))
    return {"checked": len(rows), "missing": missing, "corrupt": corrupt}
