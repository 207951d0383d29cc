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
    """Drop the evaluation history older than `retention_days` before the LATEST evaluation (not before
    now(): a pipeline paused for a year must not lose its last statuses), a whole chain at a time.

    A partial run's results are its rows plus its base's (evaluation_run_rows), so a run is only ever
    dropped with its whole chain (its base, the base's base, and every run built on them): a chain
    goes when all of its runs and rows are older than the cutoff and it does not hold the latest run.
    Chunks are dropped only below the oldest row of every chain that stays, so a surviving chain that
    straddles the cutoff keeps its bases; what of a dropped chain sits in a kept chunk is deleted."""
    with conn.transaction():
        latest = conn.execute("SELECT max(evaluated_at) FROM evaluations").fetchone()
        if latest is None or latest[0] is None:
            return {"cutoff": None, "kept_from": None, "chunks_dropped": 0, "runs_deleted": 0}
        cutoff = latest[0] - timedelta(days=retention_days)
        conn.execute(
            """CREATE TEMP TABLE pruned_runs ON COMMIT DROP AS
               WITH RECURSIVE chain (id, root) AS (
                   SELECT id, id FROM evaluation_runs WHERE base_run_id IS NULL
                   UNION ALL
                   SELECT r.id, c.root FROM evaluation_runs r JOIN chain c ON r.base_run_id = c.id
               ), young AS (
                   SELECT c.root FROM chain c JOIN evaluation_runs r ON r.id = c.id
                   WHERE r.started_at >= %(cutoff)s
                      OR r.id IN (SELECT id FROM evaluation_runs_latest)
                      OR EXISTS (SELECT 1 FROM evaluations e
                                 WHERE e.run_id = r.id AND e.evaluated_at >= %(cutoff)s)
               )
               SELECT c.id FROM chain c WHERE c.root NOT IN (SELECT root FROM young)""",
            {"cutoff": cutoff},
        )
        # run by run through the (run_id, evaluated_at) index, not a scan of the whole history
        kept = conn.execute(
            """SELECT min(first.at) FROM evaluation_runs r
               CROSS JOIN LATERAL (SELECT min(e.evaluated_at) AS at FROM evaluations e
                                   WHERE e.run_id = r.id) first
               WHERE NOT EXISTS (SELECT 1 FROM pruned_runs p WHERE p.id = r.id)"""
        ).fetchone()
        kept_from = min(cutoff, kept[0]) if kept is not None and kept[0] is not None else cutoff
        dropped = conn.execute(
            "SELECT drop_chunks('evaluations', older_than => %s::timestamptz)", (kept_from,)
        ).fetchall()
        conn.execute("DELETE FROM evaluations e USING pruned_runs p WHERE e.run_id = p.id")
        runs = conn.execute("DELETE FROM evaluation_runs r USING pruned_runs p WHERE r.id = p.id")
    return {
        "cutoff": cutoff.isoformat(),
        "kept_from": kept_from.isoformat(),
        "chunks_dropped": len(dropped),
        "runs_deleted": runs.rowcount,
    }


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
