"""Running a network that holds the GIL on more than one core: this process plus worker processes.

dlib's ResNet, run by dlib (only where its conversion to OpenCV fails, faces/embedders/
dlib_cache.py), keeps Python's GIL for its 78 ms a face, so threads cannot run two at once. `Lanes`
spreads the items of each call over "lanes": this process (one at a time) and, once this process
is busy, up to `workers - 1` worker processes (as many as the free memory holds, faces/cores.py),
each holding its own copy of the network. The processes are started lazily, only when this
process's lane is found busy (a single face in a single thread never starts one), with the
"spawn" method (safe under threads and under a uvicorn parent), and stopped by `close()` or at
exit. Items go one by one to whichever lane is free, so a worker still starting takes nothing and
delays nothing; once the workers are ready they are preferred, as this process's lane stalls its
other threads while it runs.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import BrokenExecutor, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from typing import Any

import numpy as np

from stash_sense.faces.cores import affordable_processes

log = logging.getLogger(__name__)

#: The network of this worker process, loaded once by the pool's initializer.
_NET: Any = None
_FORWARD: Callable[[Any, list[np.ndarray]], np.ndarray] | None = None


def _init_worker(
    load: Callable[[str], Any], forward: Callable[[Any, list[np.ndarray]], np.ndarray], arg: str
) -> None:
    global _NET, _FORWARD
    parent = multiprocessing.parent_process()
    if parent is not None:  # the pool's queues do not tell a worker its parent died: watch it
        threading.Thread(target=_exit_with, args=(parent.sentinel,), daemon=True).start()
    _NET = load(arg)
    _FORWARD = forward


def _exit_with(sentinel: int) -> None:
    """End this worker process when its parent ends, however (even killed with SIGKILL)."""
    multiprocessing.connection.wait([sentinel])
    os._exit(0)


def _ready() -> bool:
    return _NET is not None


def _run(items: list[np.ndarray]) -> np.ndarray:
    assert _FORWARD is not None, "worker not initialised"
    return _FORWARD(_NET, items)


class Lanes:
    """This process plus lazily started worker processes running one network.

    `load(arg)` makes the network and `forward(net, items)` runs it; both must be module-level
    functions (a worker process imports them). `local` runs the network in this process.
    """

    def __init__(
        self,
        local: Callable[[list[np.ndarray]], np.ndarray],
        load: Callable[[str], Any],
        forward: Callable[[Any, list[np.ndarray]], np.ndarray],
        arg: Callable[[], str],
        workers: int,
    ) -> None:
        self._local_run = local
        self._load, self._forward, self._arg = load, forward, arg
        self.workers = max(1, workers)
        self._local = threading.Lock()
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._ready = threading.Event()
        self._remote_free = threading.Semaphore(0)
        self._closed = False
        #: items a worker process has run (since this object was made)
        self.remote_items = 0

    @property
    def started(self) -> bool:
        """Whether worker processes have been started (and not closed)."""
        return self._pool is not None

    def start(self, timeout: float | None = None) -> bool:
        """Start the worker processes now (a benchmark's warm-up) and wait until they are ready;
        False when there are none (one worker, closed, no memory) or they are not ready in time."""
        return self._start() is not None and self._ready.wait(timeout)

    def run(self, items: Sequence[np.ndarray]) -> np.ndarray:
        """The network's output for each item, in order: (n, ...) stacked rows."""
        todo = list(enumerate(items))
        if not todo:
            return self._local_run([])
        out: list[np.ndarray | None] = [None] * len(todo)
        take = threading.Lock()

        def next_item() -> tuple[int, np.ndarray] | None:
            with take:
                return todo.pop(0) if todo else None

        def lane() -> None:
            while (item := next_item()) is not None:
                out[item[0]] = self._one(item[1])

        extra = min(len(todo), self.workers) - 1
        if extra <= 0:
            lane()
        else:
            with ThreadPoolExecutor(extra, thread_name_prefix="lanes") as helpers:
                futures = [helpers.submit(lane) for _ in range(extra)]
                lane()
                for done in futures:
                    done.result()
        return np.concatenate([np.asarray(o) for o in out], axis=0)

    def _one(self, item: np.ndarray) -> np.ndarray:
        """One item on a free lane. Once the workers are ready: a free worker first (this
        process's lane holds the GIL while it runs, which stalls this process's other threads),
        then this process's lane, then the workers' queue. Before: this process's lane, the
        workers being started the first time it is found busy."""
        pool = self._pool
        if pool is not None and self._ready.is_set() and self._remote_free.acquire(blocking=False):
            try:
                return self._remote(pool, item)
            finally:
                self._remote_free.release()
        if self._local.acquire(blocking=False):
            try:
                return self._local_run([item])
            finally:
                self._local.release()
        pool = self._start()
        if pool is not None and self._ready.is_set():
            return self._remote(pool, item)
        with self._local:
            return self._local_run([item])

    def _remote(self, pool: ProcessPoolExecutor, item: np.ndarray) -> np.ndarray:
        try:
            out = pool.submit(_run, [item]).result()
        except BrokenExecutor:  # a worker died (killed, out of memory): this process only
            log.warning("a worker process stopped; running in this process only")
            self.shutdown()
            with self._local:
                return self._local_run([item])
        except RuntimeError:  # closed by another thread meanwhile
            with self._local:
                return self._local_run([item])
        with self._lock:
            self.remote_items += 1
        return out

    def _start(self) -> ProcessPoolExecutor | None:
        with self._lock:
            if self._closed or self.workers < 2:
                return None
            if self._pool is None:
                processes = affordable_processes(self.workers - 1)
                if processes < 1:
                    log.info("not enough free memory for a worker process; one core only")
                    return None
                pool = ProcessPoolExecutor(
                    processes,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_init_worker,
                    initargs=(self._load, self._forward, self._arg()),
                )
                self._pool = pool
                self._remote_free = threading.Semaphore(processes)
                self._ready.clear()
                warmups: list[Future[bool]] = [pool.submit(_ready) for _ in range(self.workers - 1)]
                threading.Thread(
                    target=self._await_ready, args=(warmups,), name="lanes-start", daemon=True
                ).start()
            return self._pool

    def _await_ready(self, warmups: list[Future[bool]]) -> None:
        wait(warmups)
        if all(not f.cancelled() and f.exception() is None and f.result() for f in warmups):
            self._ready.set()

    def close(self) -> None:
        """Stop the worker processes (a later call starts them again unless `closed`)."""
        with self._lock:
            pool, self._pool = self._pool, None
            self._ready.clear()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def shutdown(self) -> None:
        """Stop the worker processes for good: later calls run in this process only."""
        with self._lock:
            self._closed = True
        self.close()
