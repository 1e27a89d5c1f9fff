"""The builder's pipeline: performers in flight in a window (their images downloading and
embedding in the pools of `images.py`), written strictly in the order they were read, in
transactions of at most `batch_size` that also carry the resume state; this thread is the only
writer (`store.py`). After a kill -9 the next run starts right after the last committed performer.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field

from stash_sense.builder.images import ImageOutcome, ImageWorkers
from stash_sense.builder.options import BuildOptions
from stash_sense.builder.progress import LogProgress, StageClock
from stash_sense.builder.state import BuildState
from stash_sense.builder.store import PerformerStore
from stash_sense.database import DatabaseWriter
from stash_sense.sources.types import SourcePerformer


@dataclass
class Job:
    """One performer in flight (or, with `pid`, a stored performer's images retried)."""

    performer: SourcePerformer | None
    pid: int | None = None
    offset: int | None = None  # its position in the full pass
    futures: list[Future[ImageOutcome]] = field(default_factory=list)

    def done(self) -> bool:
        return all(f.done() for f in self.futures)

    def pending(self) -> list[Future[ImageOutcome]]:
        return [f for f in self.futures if not f.done()]


class Pipeline:
    """Starts jobs (their images submitted to the workers) and writes them in order."""

    def __init__(
        self,
        options: BuildOptions,
        writer: DatabaseWriter,
        store: PerformerStore,
        state: BuildState,
        workers: ImageWorkers,
        window_size: Callable[[], int],
    ) -> None:
        self.opt = options
        self.writer = writer
        self.store = store
        self.state = state
        self.workers = workers
        self.window_size = window_size  # performers in flight (the page size may shrink)
        self.on_progress = options.on_progress or LogProgress()
        self.written = 0  # performers written by this run

    def start(self, performer: SourcePerformer, offset: int | None = None) -> Job:
        """A job for this performer, its images not yet stored submitted to the workers."""
        job = Job(performer, offset=offset)
        if performer.deleted:
            return job
        for image in performer.images[: self.opt.endpoint.max_images_per_performer]:
            if not self.writer.has_image(image.url):
                job.futures.append(self.workers.submit(image.url))
        return job

    def retry(self, url: str, pid: int) -> Job:
        """A job retrying one image of a stored performer."""
        return Job(None, pid, None, [self.workers.submit(url)])

    def drive(
        self, jobs: Iterable[Job], stage: str, total: Callable[[], int | None], done_before: int = 0
    ) -> bool:
        """Run jobs through the pools and write them in order; True when `jobs` ran out.
        Progress is reported towards `total()` (None while unknown) less `done_before`."""
        clock = StageClock(stage, self.on_progress)
        clock.report()
        try:
            return self._drive(iter(jobs), clock, lambda: _less(total(), done_before))
        finally:
            clock.report(finished=True)

    def _drive(
        self, jobs: Iterator[Job], clock: StageClock, total: Callable[[], int | None]
    ) -> bool:
        window_size = self.window_size()
        window: deque[Job] = deque()
        batch: list[Job] = []
        exhausted = False
        last_commit = time.monotonic()
        while True:
            while not exhausted and len(window) < window_size:
                try:
                    window.append(next(jobs))
                except StopIteration:
                    exhausted = True
            if clock.total is None:
                clock.total = total()
            if not window and not batch:
                return exhausted
            while window and window[0].done():
                batch.append(window.popleft())
            due = time.monotonic() - last_commit >= self.opt.commit_every_s
            if batch and (len(batch) >= self.opt.batch_size or due or not window):
                clock.advance(len(batch), self._commit(batch))
                batch = []
                last_commit = time.monotonic()
                continue
            if window:
                wait(window[0].pending(), timeout=0.5, return_when=FIRST_COMPLETED)

    def _commit(self, batch: list[Job]) -> int:
        """Write a batch and the resume state in one transaction; return the faces stored."""
        faces = 0
        with self.writer.transaction():
            for job in batch:
                faces += self._write(job)
                if job.offset is not None and job.performer is not None:
                    self.state.offset = job.offset + 1
                    self.state.last_id = job.performer.id
            self.state.save(self.writer)
        self.written += sum(job.performer is not None for job in batch)
        return faces

    def _write(self, job: Job) -> int:
        """Store one job: the performer (or its removal), its merges, its images' outcomes."""
        p, pid = job.performer, job.pid
        if p is not None and p.deleted:
            self.store.remove(p)
            return 0
        if p is not None:
            pid = self.store.upsert(p)
            self.store.follow_merges(p, pid)
        assert pid is not None
        # AuthError and the unexpected propagate from result(): a clean stop
        return sum(self.store.outcome(pid, f.result()) for f in job.futures)


def _less(known: int | None, done_before: int) -> int | None:
    return None if known is None else max(0, known - done_before)
