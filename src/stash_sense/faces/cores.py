"""How many cores face work should use: the cores this process may run on, at most a few, and
how many worker processes the memory this process may still take (its cgroup's ceiling, the
machine's available memory) can hold."""

from __future__ import annotations

import os
from pathlib import Path

#: More threads than this only wait: at most this many copies of each network are lent at once.
MAX_THREADS = 4
#: What one worker process running dlib's ResNet holds (measured: about 100 MB resident), with
#: room to spare.
WORKER_PROCESS_BYTES = 200 * 1024 * 1024
#: Memory left untouched for this process's own work (decoded frames, the database's index).
HEADROOM_BYTES = 512 * 1024 * 1024
CGROUP = Path("/sys/fs/cgroup")
MEMINFO = Path("/proc/meminfo")

_allowed: int | None = None


def allow_cores(cores: int | None) -> None:
    """The most cores the user lets face work use in this process (None: no limit of theirs);
    worker_threads() honours it, so the builder's and the scenes' threads and every FaceEngine
    made afterwards do. Called once at start-up with the user's setting. OpenCV's own threads
    (YuNet, SFace, dlib's ResNet converted for OpenCV) get the same cap; None gives OpenCV back
    its default, the cores this process may run on."""
    import cv2

    global _allowed
    if cores is not None and cores < 1:
        raise ValueError(f"cores must be at least 1, got {cores}")
    _allowed = cores
    cv2.setNumThreads(-1 if cores is None else min(cores, cv2.getNumberOfCPUs()))


def worker_threads(limit: int = MAX_THREADS) -> int:
    """The cores this process may use (its CPU affinity where the OS has one), at most `limit`
    and at most what the user allows (allow_cores)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    if _allowed is not None:
        cores = min(cores, _allowed)
    return max(1, min(limit, cores))


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None  # "max": no limit


def available_memory(cgroup: Path = CGROUP, meminfo: Path = MEMINFO) -> int | None:
    """Bytes this process may still take: the least of its cgroup's room (cgroup v2 memory.max
    less memory.current) and the machine's MemAvailable; None where neither can be read."""
    room: list[int] = []
    limit, used = _read_int(cgroup / "memory.max"), _read_int(cgroup / "memory.current")
    if limit is not None and used is not None:
        room.append(max(0, limit - used))
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                room.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    return min(room) if room else None


def affordable_processes(wanted: int, available: int | None = None) -> int:
    """How many of `wanted` worker processes fit in the memory left (all of them where it cannot
    be read), keeping HEADROOM_BYTES free."""
    room = available_memory() if available is None else available
    if room is None:
        return max(0, wanted)
    return max(0, min(wanted, (room - HEADROOM_BYTES) // WORKER_PROCESS_BYTES))
