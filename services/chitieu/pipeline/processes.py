"""Background processes started by `chitieu pipeline run|up` (pid files under CHITIEU_LOCAL_DIR/run).

Each process gets its own session (process group), so stopping it also stops the children it
forked (LocalExecutor workers, uvicorn workers) — and nothing else: only pids we recorded, and
only while the pid still belongs to the process we started (same start time).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
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


@functools.cache
def _prctl() -> Callable[..., int] | None:
    """libc's prctl (Linux only), looked up once, before any fork under the hook: a child should
    not go searching for libc in the instant after a fork."""
    if not sys.platform.startswith("linux"):
        return None
    prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    return prctl


def die_with_parent(parent: int | None = None) -> None:
    """Have the kernel SIGKILL this process when its parent dies (Linux; elsewhere a no-op).

    `parent` is the pid of the process that forked this one, when known. Without it, the current
    parent is taken, and one that is already init means the real parent died before this request
    (a task runner asks only after parsing its DAG): exit now. Either way the parent is checked
    again once the request is in place, so a parent that dies in between is not missed."""
    prctl = _prctl()
    if prctl is None:
        return
    if parent is None:
        parent = os.getppid()
        if parent == 1:  # orphaned before the request: nobody supervises this process any more
            os._exit(1)
    if os.getppid() != parent:
        os._exit(1)
    prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


_forking_pid = 0  # the pid of this process, noted just before it forks; the child reads its copy


def _note_forking_pid() -> None:
    global _forking_pid
    _forking_pid = os.getpid()


def _child_dies_with_its_parent() -> None:
    die_with_parent(_forking_pid)


@functools.cache
def forked_processes_die_with_their_parent() -> None:
    """From now on, every process this one forks without exec dies when its parent dies.

    Each child asks the kernel (PR_SET_PDEATHSIG) right after the fork, before the code that forked
    it goes on, and exits if its parent is already gone. The hook is part of the interpreter a child
    inherits, so the children's own forks are covered too: a whole tree of forks (a Celery worker's
    pool processes, the task supervisors in them, the task runners they fork, Airflow's helper
    processes) goes down with its root, however it was killed. A child that execs keeps the request
    but not the hook. The kernel watches the *thread* that forked: a child forked from a thread that
    then ends is killed with it, so call this only in processes that fork from long-lived threads
    (a Celery worker forks from its main threads)."""
    if _prctl() is None:
        return
    os.register_at_fork(before=_note_forking_pid, after_in_child=_child_dies_with_its_parent)


def managed_names(run_dir: Path) -> list[str]:
    return sorted(p.stem for p in run_dir.glob("*.pid"))
