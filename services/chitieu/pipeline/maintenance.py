"""Weekly housekeeping: planner statistics, evaluation history pruning, archive integrity.

Works on the Apache-2 TimescaleDB build (no retention policies): Airflow schedules what a
licensed server would do with a job.
"""

from __future__ import annotations

from datetime import timedelta
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


def verify_archive(conn: psycopg.Connection, *, limit: int | None = None) -> dict[str, Any]:
    """Every file a batch was loaded from is still archived and still hashes to its checksum."""
    from chitieu.ingest.archive import ArchiveCorrupt, ArchiveError, read_archived

    rows = conn.execute(
        """SELECT DISTINCT file_sha256 FROM load_batches
           WHERE file_sha256 IS NOT NULL ORDER BY file_sha256 LIMIT %s""",
        (limit,),
    ).fetchall()
    missing: list[str] = []
    corrupt: list[str] = []
    for (sha,) in rows:
        try:
            read_archived(sha, conn=conn)
        except ArchiveCorrupt:
            corrupt.append(sha)
        except ArchiveError:
            missing.append(sha)
    return {"checked": len(rows), "missing": missing, "corrupt": corrupt}
