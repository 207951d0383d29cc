"""Background processes started by `chitieu pipeline run|up` (pid files under LOCAL_DIR/run).

Each process gets its own session (process group), so stopping it also stops the children it
forked (LocalExecutor workers, uvicorn workers) — and nothing else: only pids we recorded, and
only while the pid still belongs to the process we started (same start time).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Managed:
    name: str
    pid: int
    cmd: list[str]
    log: Path
    ticks: int | None  # start time of the process, to tell it from a later process with the same pid


def _pid_file(run_dir: Path, name: str) -> Path:
    return run_dir / f"{name}.pid"


def start(run_dir: Path, name: str, cmd: list[str], *, env: dict[str, str], log: Path, cwd: Path) -> Managed:
    existing = running(run_dir, name)
    if existing is not None:
        return existing
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            cmd,
            env=env,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    managed = Managed(name, proc.pid, cmd, log, _start_ticks(proc.pid))
    _pid_file(run_dir, name).write_text(
        json.dumps({"pid": proc.pid, "cmd": cmd, "log": str(log), "ticks": managed.ticks})
    )
    return managed


def _start_ticks(pid: int) -> int | None:
    """The process's start time (clock ticks since boot): with the pid, its identity across pid reuse."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()  # the command name may hold spaces and parentheses
    if not fields or fields[0] == "Z":
        return None
    return int(fields[19])


def _alive(pid: int, ticks: int | None) -> bool:
    # Processes rename themselves (setproctitle: 'airflow api_server -- ...'), so the command line
    # proves nothing; the start time recorded at launch does.
    current = _start_ticks(pid)
    return current is not None and (ticks is None or current == ticks)


def running(run_dir: Path, name: str) -> Managed | None:
    path = _pid_file(run_dir, name)
    if not path.exists():
        return None
    info = json.loads(path.read_text())
    managed = Managed(name, int(info["pid"]), list(info["cmd"]), Path(info["log"]), info.get("ticks"))
    if _alive(managed.pid, managed.ticks):
        return managed
    path.unlink(missing_ok=True)
    return None


def stop(run_dir: Path, name: str, *, timeout: float = 30.0) -> bool:
    """Stop one managed process (SIGTERM to its group, SIGKILL after `timeout`). True if it ran."""
    managed = running(run_dir, name)
    if managed is None:
        return False
    with contextlib.suppress(ProcessLookupError):
        os.killpg(managed.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _alive(managed.pid, managed.ticks):
        _reap(managed.pid)
        time.sleep(0.3)
    if _alive(managed.pid, managed.ticks):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(managed.pid, signal.SIGKILL)
        _reap(managed.pid)
    _pid_file(run_dir, name).unlink(missing_ok=True)
    return True


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def die_with_parent() -> None:
    """Have the kernel SIGKILL this process when its parent dies (Linux; elsewhere a no-op).

    Airflow's task runner puts itself in its own process group, so killing a worker's group leaves
    it running; with this (set by the runner and by Celery's pool processes) a killed worker takes
    its tasks with it and their retries run alone. If the parent is already gone, exit now: this is
    called some time after the fork (a runner parses its DAG first), and a parent that died in
    between has left this process re-parented to init."""
    import ctypes
    import ctypes.util
    import sys

    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    if parent == 1:  # orphaned before the request: nobody supervises this process any more
        os._exit(1)
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


def managed_names(run_dir: Path) -> list[str]:
    return sorted(p.stem for p in run_dir.glob("*.pid"))
