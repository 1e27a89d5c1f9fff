"""Build progress as reports to a callback: the builder says where each stage stands, whoever
called it renders that (the CLI draws a rich bar on a terminal); by default, a log line every 10 s.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("stash_sense.builder")


@dataclass(frozen=True)
class BuildProgress:
    """Where one stage of a build stands; reported when it starts, after each committed batch
    and when it ends (`finished`)."""

    stage: str  # "stashdb" (the full pass's pages), "stashdb changes", "... sweep", "... retries"
    done: int  # performers written in this stage so far
    total: int | None  # performers this stage will write, once known
    faces: int  # faces stored in this stage so far
    elapsed_s: float
    finished: bool = False

    @property
    def rate(self) -> float:
        """Performers a second."""
        return self.done / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def line(self) -> str:
        total = f"/{self.total}" if self.total is not None else ""
        eta = ""
        if self.total and self.rate > 0 and not self.finished:
            left = max(0, self.total - self.done) / self.rate
            eta = f", ETA {int(left // 3600)}h{int(left % 3600 // 60):02d}m{int(left % 60):02d}s"
        return (
            f"{self.stage}: {self.done}{total} performers, {self.rate:.1f}/s, "
            f"{self.faces} faces{eta}"
        )


OnProgress = Callable[[BuildProgress], None]


class LogProgress:
    """A callback that logs a stage's progress every `every_s` seconds and when it ends."""

    def __init__(self, every_s: float = 10.0) -> None:
        self.every_s = every_s
        self._last = time.monotonic()

    def __call__(self, report: BuildProgress) -> None:
        now = time.monotonic()
        if report.finished or now - self._last >= self.every_s:
            self._last = now
            log.info(report.line())


class StageClock:
    """Counts one stage's performers and faces and reports them to `on_progress`."""

    def __init__(self, stage: str, on_progress: OnProgress) -> None:
        self.stage = stage
        self.total: int | None = None
        self.done = 0
        self.faces = 0
        self._on_progress = on_progress
        self._started = time.monotonic()

    def report(self, finished: bool = False) -> None:
        elapsed = time.monotonic() - self._started
        self._on_progress(
            BuildProgress(self.stage, self.done, self.total, self.faces, elapsed, finished)
        )

    def advance(self, performers: int, faces: int) -> None:
        self.done += performers
        self.faces += faces
        self.report()
