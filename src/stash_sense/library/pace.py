"""How gently a scan runs: a lowered CPU priority for its thread and a memory ceiling."""

from __future__ import annotations

import contextlib
import gc
import os
import resource
import threading

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss_mb() -> float:
    """This process's resident memory now (Linux /proc), else its peak, in MB."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * _PAGE / 2**20
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def over_ceiling(ceiling_mb: float) -> float | None:
    """The RSS in MB when it stays above `ceiling_mb` after a garbage collection, else None."""
    if rss_mb() <= ceiling_mb:
        return None
    gc.collect()
    now = rss_mb()
    return now if now > ceiling_mb else None


def lower_priority(niceness: int) -> None:
    """Lower the calling thread's CPU priority (Linux schedules threads apart; the ffmpeg
    processes it starts inherit it). Nothing happens where the system refuses."""
    if niceness <= 0:
        return
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
