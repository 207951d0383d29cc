"""The API's upload worker: a child process (`python -m chitieu.uploads.worker`), spawned when a job is
queued or when jobs are waiting (left by a stopped API), restarted if it dies, stopped with the API."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import subprocess
import sys
from typing import Any

from psycopg_pool import AsyncConnectionPool

from chitieu.uploads.worker import PARENT_ENV, POLL_SECONDS

log = logging.getLogger("chitieu.uploads")

STOP_GRACE_SECONDS = 10.0


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
            [sys.executable, "-m", "chitieu.uploads.worker"],
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
