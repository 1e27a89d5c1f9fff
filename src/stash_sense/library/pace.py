"""How gently a scan runs: a lowered CPU priority for its threads and a memory ceiling.

The ceiling is the user's (STASH_SENSE_SCAN_MEMORY_MB) or, by default, the scan's highest resident
memory after its first identified scenes plus GROWTH_MB, never below FLOOR_MB: what the models and
the face database hold is the same for every scene and differs by database, so the default
counts growth above it, within the scan's memory target.
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
#: this run's first scenes (models loaded, one scene's frames and its next one's decode held) by
#: more than this (MiB), and never below FLOOR_MB.
GROWTH_MB = 512.0
#: The default ceiling is never lower than this (MiB): the scan's memory target (issue 21,
#: < 1.5 GB). A scan's RSS climbs over its first tens of scenes (the benchmark's: about 500 MB
#: after the first two, 1,100 to 1,200 MB after 20 to 40), so growth above the first scenes
#: alone paused healthy scans ("memory ceiling: 1160 MB > 1049" after 41 scenes).
FLOOR_MB = 1536.0


def settled_rss() -> float:
    """This process's RSS in MB after a garbage collection."""
    gc.collect()
    return rss_mb()


def default_ceiling(rss_after: list[float], growth_mb: float = GROWTH_MB) -> float:
    """The default ceiling from the RSS after each of the run's first scenes: the highest plus
    `growth_mb`, and never below FLOOR_MB."""
    return max(max(rss_after) + growth_mb, FLOOR_MB)


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
