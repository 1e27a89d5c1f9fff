"""dlib's ResNet on more than one core: worker processes give the vectors this process gives,
start only when this process is busy, fit the free memory, stop when closed, and a dead worker
leaves the work to this process."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from pathlib import Path

import numpy as np
import pytest

from stash_sense.faces import FaceEngine
from stash_sense.faces.cores import (
    HEADROOM_BYTES,
    WORKER_PROCESS_BYTES,
    affordable_processes,
    available_memory,
    worker_threads,
)
from stash_sense.faces.embedders import DlibResNetEmbedder
from stash_sense.faces.types import ImageArray


@pytest.fixture(scope="module")
def single(chips: list[ImageArray]) -> np.ndarray:
    """The vectors of this process alone."""
    return DlibResNetEmbedder(backend="dlib", workers=1).embed(chips)


def _workers() -> list[multiprocessing.process.BaseProcess]:
    return [p for p in multiprocessing.active_children() if p.is_alive()]


def test_worker_processes_give_the_same_vectors(
    chips: list[ImageArray], single: np.ndarray
) -> None:
    dlib = DlibResNetEmbedder(backend="dlib", workers=2)
    try:
        assert dlib.lanes.start(timeout=120), "the worker process did not start"
        spread = dlib.embed(chips)
        assert dlib.lanes.remote_items > 0, "no face ran in the worker process"
        np.testing.assert_array_equal(spread, single)
        flipped = DlibResNetEmbedder(backend="dlib", workers=1, flip=True).embed(chips[:3])
        dlib.flip = True
        np.testing.assert_allclose(dlib.embed(chips[:3]), flipped, atol=1e-6)
    finally:
        dlib.close()


def test_one_face_in_one_thread_starts_no_process(
    chips: list[ImageArray], single: np.ndarray
) -> None:
    dlib = DlibResNetEmbedder(backend="dlib", workers=2)
    for i, chip in enumerate(chips[:3]):
        np.testing.assert_array_equal(dlib.embed([chip]), single[i : i + 1])
    assert not dlib.lanes.started


def test_one_worker_never_starts_a_process_even_under_threads(
    chips: list[ImageArray], single: np.ndarray
) -> None:
    dlib = DlibResNetEmbedder(backend="dlib", workers=1)
    results: list[np.ndarray] = []

    def embed() -> None:
        results.append(dlib.embed(chips))

    threads = [threading.Thread(target=embed) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not dlib.lanes.started and not dlib.lanes.start()
    for r in results:
        np.testing.assert_array_equal(r, single)


def test_close_stops_the_processes_and_the_engine_still_works(
    chips: list[ImageArray], single: np.ndarray
) -> None:
    before = {p.pid for p in _workers()}
    with FaceEngine([DlibResNetEmbedder(backend="dlib")], workers=2) as engine:
        dlib = engine.embedders[0]
        assert isinstance(dlib, DlibResNetEmbedder)
        assert dlib.lanes.start(timeout=120)
        started = {p.pid for p in _workers()} - before
        assert started, "no worker process"
    assert not {p.pid for p in _workers()} & started
    assert not dlib.lanes.started
    np.testing.assert_array_equal(dlib.embed(chips[:2]), single[:2])


def test_a_killed_worker_leaves_the_work_to_this_process(
    chips: list[ImageArray], single: np.ndarray
) -> None:
    before = {p.pid for p in _workers()}
    dlib = DlibResNetEmbedder(backend="dlib", workers=2)
    try:
        assert dlib.lanes.start(timeout=120)
        for pid in {p.pid for p in _workers()} - before:
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
        np.testing.assert_array_equal(dlib.embed(chips), single)
        assert not dlib.lanes.start(), "a broken pool is not started again"
    finally:
        dlib.close()


def test_engine_workers_default_to_the_cores() -> None:
    assert FaceEngine.create(("sface",)).workers == worker_threads()
    engine = FaceEngine.create(("sface", "dlib"), workers=3)
    assert engine.workers == 3
    assert [e.workers for e in engine.embedders] == [1, 3]  # SFace releases the GIL: threads
    assert FaceEngine.create(("dlib",), workers=0).workers == 1


def test_worker_processes_fit_the_free_memory(tmp_path: Path) -> None:
    each = WORKER_PROCESS_BYTES
    assert affordable_processes(3, available=HEADROOM_BYTES + 2 * each) == 2
    assert affordable_processes(3, available=HEADROOM_BYTES + each - 1) == 0
    assert affordable_processes(1, available=HEADROOM_BYTES + 10 * each) == 1
    cgroup = tmp_path / "cgroup"
    cgroup.mkdir()
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal: 8000000 kB\nMemAvailable: 4000000 kB\n")
    (cgroup / "memory.max").write_text("max\n")
    (cgroup / "memory.current").write_text("100\n")
    assert available_memory(cgroup, meminfo) == 4_000_000 * 1024
    (cgroup / "memory.max").write_text(f"{1024**3}\n")
    (cgroup / "memory.current").write_text(f"{256 * 1024**2}\n")
    assert available_memory(cgroup, meminfo) == 768 * 1024**2
    assert available_memory(tmp_path / "none", tmp_path / "none") is None


def test_the_cores_the_user_allows_bound_every_engine() -> None:
    from stash_sense.faces.cores import allow_cores

    try:
        allow_cores(1)
        assert worker_threads() == 1
        engine = FaceEngine.create(("dlib",))
        assert engine.workers == 1 and engine.embedders[0].workers == 1
        with pytest.raises(ValueError, match="at least 1"):
            allow_cores(0)
    finally:
        allow_cores(None)
    assert worker_threads() == min(4, len(os.sched_getaffinity(0)))


WORKER_OF_A_KILLED_PARENT = """
import multiprocessing, time
from stash_sense.faces.embedders import DlibResNetEmbedder
if __name__ == "__main__":
    dlib = DlibResNetEmbedder(backend="dlib", workers=2)
    assert dlib.lanes.start(timeout=120)
    print(*[p.pid for p in multiprocessing.active_children()], flush=True)
    time.sleep(120)
"""


def test_workers_end_when_their_parent_is_killed(tmp_path: Path) -> None:
    import subprocess
    import sys
    import time

    script = tmp_path / "parent.py"
    script.write_text(WORKER_OF_A_KILLED_PARENT)
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        workers = [int(pid) for pid in parent.stdout.readline().split()]
        assert workers, "no worker process"
    finally:
        parent.kill()
        parent.wait()
    deadline = time.monotonic() + 20
    alive = workers
    while alive and time.monotonic() < deadline:
        time.sleep(0.2)
        alive = [pid for pid in workers if Path(f"/proc/{pid}").exists()]
    assert not alive, f"worker processes left behind: {alive}"
