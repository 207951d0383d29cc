"""Handing the memory a finished phase of a big load freed back to the operating system.

CPython and numpy allocate through the C allocator. glibc's raises its mmap threshold each time a
large block is freed (up to 32 MiB), so after the first few the 8 MB columns of a million-row frame
are carved from the heap, and what a phase frees (the parsed cells, the file's bytes sent to the
archive) stays mapped: the next phase then grows beside it, and the peak RSS of a load becomes the
sum of its phases instead of the largest. Pinning the threshold keeps every large array in its own
mapping, returned when freed; `malloc_trim` hands back the free pages of the heap between phases.
Both are glibc's; elsewhere these functions do nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import lru_cache
from typing import Any

M_MMAP_THRESHOLD = -3  # mallopt's parameter number (glibc malloc.h)
MMAP_THRESHOLD_BYTES = 1 << 20  # a column of 131,072 or more 8-byte values gets its own mapping


@lru_cache(maxsize=1)
def _glibc() -> Any:
    name = ctypes.util.find_library("c")
    try:
        lib = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return lib if lib is not None and hasattr(lib, "malloc_trim") and hasattr(lib, "mallopt") else None


@lru_cache(maxsize=1)
def pin_mmap_threshold() -> None:
    """Large blocks (columns) are mapped on their own and unmapped when freed, for this process."""
    lib = _glibc()
    if lib is not None:
        lib.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)


def release_freed_memory() -> None:
    """Give the allocator's free heap pages back to the operating system."""
    lib = _glibc()
    if lib is not None:
        lib.malloc_trim(0)


__all__ = ["pin_mmap_threshold", "release_freed_memory"]
