"""How many threads face work should use: the cores this process may run on, at most a few."""

from __future__ import annotations

import os

#: More threads than this only wait: at most this many copies of each network are lent at once.
MAX_THREADS = 4


def worker_threads(limit: int = MAX_THREADS) -> int:
    """The cores this process may use (its CPU affinity where the OS has one), at most `limit`."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(limit, cores))
