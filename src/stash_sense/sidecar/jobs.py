"""Runs inference off the event loop: at most N jobs at once, a bounded queue, cancel on hang-up.

A job is a plain function taking `should_stop()`; it runs in the gate's own thread pool. When
the running and waiting jobs fill the gate, `run` raises Busy at once (the app answers 503 with
Retry-After). While a job waits or runs, the client's connection is watched: if it goes away, a
waiting job is dropped and a running one sees `should_stop()` turn true.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from starlette.requests import Request

from stash_sense.sidecar.memory import trim_heap

T = TypeVar("T")
POLL_S = 0.2


class Busy(RuntimeError):
    """Every worker is busy and the queue is full."""


class ClientGone(RuntimeError):
    """The client disconnected before its job could finish."""


def _run_and_trim(job: Callable[[Callable[[], bool]], T], should_stop: Callable[[], bool]) -> T:
    """Run the job; then hand the memory it freed (decoded images, frames) back to the system."""
    try:
        return job(should_stop)
    finally:
        trim_heap()


class JobGate:
    """At most `workers` jobs at once and `queue` more waiting; see the module docstring."""

    def __init__(self, workers: int, queue: int, retry_after_s: int = 5) -> None:
        self.workers = workers
        self.capacity = workers + queue
        self.retry_after_s = retry_after_s
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="stash-sense-job")
        self._slots: asyncio.Semaphore | None = None
        self.pending = 0
        self.running = 0
        self.completed = 0
        self.cancelled = 0
        self.rejected = 0

    def _semaphore(self) -> asyncio.Semaphore:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.workers)
        return self._slots

    async def _watch(self, request: Request, gone: asyncio.Event, stop: threading.Event) -> None:
        while not gone.is_set():
            if await request.is_disconnected():
                stop.set()
                gone.set()
                return
            await asyncio.sleep(POLL_S)

    async def _acquire(self, gone: asyncio.Event) -> bool:
        slots = self._semaphore()
        acquire = asyncio.ensure_future(slots.acquire())
        hung_up = asyncio.ensure_future(gone.wait())
        await asyncio.wait({acquire, hung_up}, return_when=asyncio.FIRST_COMPLETED)
        hung_up.cancel()
        if acquire.done() and not acquire.cancelled():
            if gone.is_set():
                slots.release()
                return False
            return True
        acquire.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await acquire
        if acquire.done() and not acquire.cancelled():
            slots.release()
        return False

    async def run(self, request: Request, job: Callable[[Callable[[], bool]], T]) -> T:
        """Run `job(should_stop)` in the pool; raise Busy when full, ClientGone on hang-up.

        The slot is given back only when the thread has finished, so even when the server
        cancels the request's task (the client went away), at most `workers` jobs ever run.
        """
        if self.pending >= self.capacity:
            self.rejected += 1
            raise Busy(f"{self.running} jobs running and {self.pending - self.running} waiting")
        self.pending += 1
        stop = threading.Event()
        gone = asyncio.Event()
        watcher = asyncio.create_task(self._watch(request, gone, stop))
        try:
            try:
                acquired = await self._acquire(gone)
            except BaseException:
                self.pending -= 1
                raise
            if not acquired:
                self.pending -= 1
                self.cancelled += 1
                raise ClientGone("the client went away while the job was queued")
            self.running += 1
            future = asyncio.get_running_loop().run_in_executor(
                self._pool, _run_and_trim, job, stop.is_set
            )
            future.add_done_callback(self._finished)
            try:
                result = await asyncio.shield(future)
            except asyncio.CancelledError:
                stop.set()
                self.cancelled += 1
                raise
            except Exception:
                if stop.is_set():
                    self.cancelled += 1
                    raise ClientGone("the client went away") from None
                raise
            if stop.is_set():
                self.cancelled += 1
                raise ClientGone("the client went away")
            self.completed += 1
            return result
        finally:
            gone.set()
            watcher.cancel()

    def _finished(self, _future: object) -> None:
        self.running -= 1
        self.pending -= 1
        self._semaphore().release()

    def stats(self) -> dict[str, int]:
        return {
            "workers": self.workers,
            "capacity": self.capacity,
            "running": self.running,
            "waiting": self.pending - self.running,
            "completed": self.completed,
            "cancelled": self.cancelled,
            "rejected": self.rejected,
        }

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
