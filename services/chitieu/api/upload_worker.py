"""Background upload jobs run in a process of their own, so that parsing a large workbook never
slows the API's reads nor leaves the API process holding the memory it took.

`run()` is that process (`chitieu api upload-worker`, or `python -m chitieu.api.upload_worker`): it
claims queued jobs one at a time (`uploads.claim_next`: a session advisory lock per job, so several
workers never run the same one) and sleeps on LISTEN until the API announces a new job. `WorkerProcess`
is how the API starts it: a child process, spawned when a job is queued or when jobs are waiting
(left by a stopped API), restarted if it dies, stopped with the API. With API_UPLOAD_WORKER=false
the API starts none, and `chitieu api upload-worker` is run on its own (by a process supervisor).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
from types import FrameType
from typing import Any

import psycopg
from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from chitieu.api.uploads import CHANNEL, POLL_SECONDS, claim_next, process, unlock

log = logging.getLogger("chitieu.uploads")

STOP_GRACE_SECONDS = 10.0
PARENT_ENV = "CHITIEU_UPLOAD_WORKER_PARENT"
RETRY_MAX_SECONDS = 60.0


# --- the worker process ------------------------------------------------------------------------------


def run(dsn: str, stop: threading.Event, busy: threading.Event) -> None:
    """Run upload jobs until `stop` is set (after the job in hand, if any); `busy` is set while
    one runs."""
    conn: psycopg.Connection[Any] | None = None
    delay = 1.0
    while not stop.is_set():
        try:
            if conn is None or conn.closed or conn.broken:
                conn = psycopg.connect(
                    dsn, autocommit=True, application_name="chitieu-upload-worker", connect_timeout=10
                )
                conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL)))
            claimed = claim_next(conn)
            if claimed is None:
                # Until the API announces a job (or a while, for jobs queued by other means).
                for _ in conn.notifies(timeout=POLL_SECONDS, stop_after=1):
                    pass
                delay = 1.0
                continue
            job, attempts = claimed
            busy.set()
            try:
                process(conn, job, attempts=attempts)
            finally:
                busy.clear()
                unlock(conn, job["id"])
            delay = 1.0
        except psycopg.Error as exc:  # the database is down or not migrated yet: try again later
            log.warning("upload worker: %s; retrying in %.0fs", exc, delay)
            if conn is not None:
                with contextlib.suppress(psycopg.Error):
                    conn.close()
            conn = None
            stop.wait(delay)
            delay = min(delay * 2, RETRY_MAX_SECONDS)
    if conn is not None:
        conn.close()


def main() -> None:
    from chitieu.settings import get_settings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    stop, busy = threading.Event(), threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        # A job in hand is finished first (its load is one transaction); an idle worker just stops.
        stop.set()
        if not busy.is_set():
            raise SystemExit(0)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    parent = os.environ.get(PARENT_ENV)
    if parent:
        # Started by an API process: stop when it is gone (killed without stopping its child).
        def orphaned() -> None:
            while not stop.wait(2.0):
                if os.getppid() != int(parent):
                    log.warning("the API process %s is gone; stopping", parent)
                    os.kill(os.getpid(), signal.SIGTERM)
                    return

        threading.Thread(target=orphaned, daemon=True).start()
    log.info("upload worker started (pid %s)", os.getpid())
    with contextlib.suppress(SystemExit):
        run(get_settings().dsn(), stop, busy)
    log.info("upload worker stopped")


# --- the API's child process -----------------------------------------------------------------------------


class WorkerProcess:
    """The API's upload worker, a child process started when there is work for it."""

    def __init__(self, dsn: str, pool: AsyncConnectionPool[Any], *, enabled: bool) -> None:
        self.dsn = dsn
        self.pool = pool
        self.enabled = enabled
        self.child: subprocess.Popen[bytes] | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def alive(self) -> bool:
        return self.child is not None and self.child.poll() is None

    def ensure(self) -> None:
        """A job was queued: have a worker (the job's NOTIFY wakes one that sleeps)."""
        if not self.enabled or self.alive:
            return
        if self.child is not None:
            log.warning("upload worker exited with %s; starting another", self.child.returncode)
        self.child = subprocess.Popen(
            [sys.executable, "-m", "chitieu.api.upload_worker"],
            env={**os.environ, "DATABASE_URL": self.dsn, PARENT_ENV: str(os.getpid())},
        )

    async def start(self) -> None:
        if self.enabled:
            self._task = asyncio.create_task(self._watch(), name="chitieu-upload-worker-watch")

    async def _watch(self) -> None:
        """Jobs waiting (queued, or left running by a stopped process) and no worker: start one."""
        while True:
            if not self.alive:
                try:
                    async with self.pool.connection(timeout=5) as conn, conn.cursor() as cur:
                        await cur.execute(
                            """SELECT EXISTS (SELECT FROM upload_jobs WHERE state IN ('queued', 'running'))
                                   AS waiting"""
                        )
                        row = await cur.fetchone()
                    waiting = bool(row and row["waiting"])
                except Exception as exc:  # the database is down or not migrated yet
                    log.debug("upload jobs not checked: %s", exc)
                    waiting = False
                if waiting:
                    self.ensure()
            await asyncio.sleep(POLL_SECONDS)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        child, self.child = self.child, None
        if child is None or child.poll() is not None:
            return
        child.terminate()
        try:
            await asyncio.to_thread(child.wait, STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            # Its job's transaction rolls back with its connection; the job stays 'running' without a
            # lock holder, and the next worker resumes it.
            child.kill()
            await asyncio.to_thread(child.wait)


if __name__ == "__main__":
    main()
