"""How gently a scan runs: a lowered CPU priority for its threads and a memory ceiling.

The ceiling is the user's (STASH_SENSE_SCAN_MEMORY_MB) or, by default, the scan's resident memory
after its first identified scene plus GROWTH_MB: what the models and the face database hold is
the same for every scene and differs by database, so the default counts growth above it.
"""

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


#: By default, the scan pauses when its resident memory after a scene exceeds what it was after
#: this run's first scene (models loaded, one scene's frames and its next one's decode held) by
#: more than this (MiB).
GROWTH_MB = 512.0


def first_scene_ceiling(growth_mb: float = GROWTH_MB) -> float:
    """The default ceiling, measured once after the run's first scene: the RSS then (after a
    garbage collection) plus `growth_mb`."""
    gc.collect()
    return rss_mb() + growth_mb


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
