"""Background upload jobs run in a process of their own, so that parsing a large workbook never
slows the API's reads nor leaves the API process holding the memory it took.

`run()` is that process (`chitieu api upload-worker`, or `python -m chitieu.uploads.worker`): it
claims queued jobs one at a time (`jobs.claim_next`: a session advisory lock per job, so several
workers never run the same one) and sleeps on LISTEN until the API announces a new job. The API
starts it as its child (`supervisor.WorkerProcess`); with CHITIEU_API_UPLOAD_WORKER=false the API starts
none, and `chitieu api upload-worker` is run on its own (by a process supervisor).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from types import FrameType
from typing import Any

import psycopg
from psycopg import sql

from chitieu.uploads.jobs import CHANNEL, claim_next
from chitieu.uploads.locks import unlock
from chitieu.uploads.run import process

log = logging.getLogger("chitieu.uploads")

POLL_SECONDS = 15.0  # jobs queued without a notice (another API's) are seen at least this often
PARENT_ENV = "CHITIEU_UPLOAD_WORKER_PARENT"  # set by the API that started this worker: its pid
RETRY_MAX_SECONDS = 60.0


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

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
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


if __name__ == "__main__":
    main()
