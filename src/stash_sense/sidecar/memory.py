"""Keeping the sidecar's memory flat: large freed blocks go back to the system (glibc only)."""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache

#: glibc's mallopt(M_MMAP_THRESHOLD): allocations of this size or more are mmapped, so the memory
#: of a large decoded image goes back to the system when it is freed (without it the threshold
#: grows with each large free, up to 32 MB, and a 9999 x 9999 decode kept 1.5 GB afterwards).
MMAP_THRESHOLD = 1024 * 1024
_M_MMAP_THRESHOLD = -3


@cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        return None
    return lib if hasattr(lib, "mallopt") and hasattr(lib, "malloc_trim") else None


def return_freed_memory() -> None:
    """Make glibc hand large freed blocks back to the system (no-op elsewhere)."""
    libc = _libc()
    if libc is not None:
        libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)


def trim_heap() -> None:
    """Give free heap memory back to the system after a job (glibc malloc_trim; no-op else)."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
