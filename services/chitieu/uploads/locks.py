"""Whoever runs an upload job holds a session advisory lock on it for the whole run, so with several
workers each job is run by one of them, and a job whose lock is free while its state says 'running'
was abandoned (the process holding it died, and the lock with its connection)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg


def _key(job_id: uuid.UUID | str) -> str:
    return f"chitieu-upload-job:{job_id}"


def try_lock(conn: psycopg.Connection[Any], job_id: uuid.UUID | str) -> bool:
    row = conn.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (_key(job_id),)).fetchone()
    return bool(row and row[0])


def unlock(conn: psycopg.Connection[Any], job_id: uuid.UUID | str) -> None:
    if not conn.closed:
        with contextlib.suppress(psycopg.Error):
            conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (_key(job_id),))


@contextlib.contextmanager
def holding(conn: psycopg.Connection[Any], job_id: uuid.UUID | str) -> Iterator[None]:
    """The job's lock for as long as the block runs (always released: pooled connections are reused)."""
    conn.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (_key(job_id),))
    try:
        yield
    finally:
        unlock(conn, job_id)
