"""Processes forked by a worker die with it: the fork hook a Celery worker arms (Linux only).

(That the hook is armed in a real `airflow celery worker` is checked by tests/test_pipeline_celery.py;
this module must not import Airflow, which other test modules configure first.)"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def _wait_for_pids(path: Path, count: int) -> list[int]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        pids = path.read_text().split() if path.exists() else []
        if len(pids) >= count:
            return [int(p) for p in pids]
        time.sleep(0.05)
    pytest.fail(f"only {path.read_text() if path.exists() else 'no'} pids written")


def test_every_process_forked_under_the_hook_dies_when_the_root_is_killed(tmp_path: Path) -> None:
    """The shape of a Celery worker: the root forks a helper (multiprocessing) and a pool process;
    the pool process forks a task runner that moves to a process group of its own, which forks
    again. Only the root is killed."""
    pids = tmp_path / "pids"
    code = f"""
import multiprocessing, os, time
from chitieu.pipeline.processes import forked_processes_die_with_their_parent

def note():
    with open({str(pids)!r}, "a") as f:
        f.write(f"{{os.getpid()}}\\n")

def stay():
    note()
    time.sleep(300)

forked_processes_die_with_their_parent()
multiprocessing.get_context("fork").Process(target=stay).start()
if os.fork() == 0:  # the pool process
    if os.fork() == 0:  # the task runner
        os.setpgid(0, 0)
        if os.fork() == 0:
            stay()
        stay()
    stay()
time.sleep(300)
"""
    root = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    try:
        children = _wait_for_pids(pids, 4)
        assert all(_alive(pid) for pid in children)
        os.kill(root.pid, signal.SIGKILL)
        root.wait(10)
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [pid for pid in children if _alive(pid)] == []
    finally:
        for pid in [root.pid, *(int(p) for p in (pids.read_text().split() if pids.exists() else []))]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def test_a_process_whose_parent_died_before_its_request_exits() -> None:
    """The race the hook closes: the child checks, after asking, that its parent is still the one
    that forked it."""
    code = """
import os
from chitieu.pipeline.processes import die_with_parent
die_with_parent(os.getppid() + 1_000_000)  # not the parent: as if it had died and init adopted us
print("still running")
"""
    res = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert res.returncode == 1, res
    assert "still running" not in res.stdout
