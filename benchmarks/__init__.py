"""Benchmarks, run by `make bench` (never as timed tests)."""

from __future__ import annotations

from pathlib import Path


def own_peak_rss_kib() -> int:
    """The peak resident memory of this process's own address space (VmHWM, Linux).

    Not getrusage's ru_maxrss: Linux keeps that across exec, so a child started by a large process
    (`make bench` runs every benchmark in one) reads the starter's peak instead of its own.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")
