"""Build progress: a rich progress bar (rate, ETA) in a terminal, plain log lines otherwise.

The bar and the log share one console (`CONSOLE`; the CLI logs through a RichHandler on it), so
retry and 429 lines print above the live bar instead of being glued onto it."""

from __future__ import annotations

import logging
import sys
import time
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

log = logging.getLogger("stash_sense.builder")

CONSOLE = Console(stderr=True)


class BuildProgress:
    """`advance(n, faces)` after each committed batch; shows performers done of the total."""

    def __init__(
        self, label: str, total: int | None, *, interactive: bool | None = None, every_s: float = 10
    ) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self.faces = 0
        self.every_s = every_s
        self.interactive = sys.stderr.isatty() if interactive is None else interactive
        self._started = time.monotonic()
        self._last_log = self._started
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> BuildProgress:
        if self.interactive:
            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]:.1f}/s  {task.fields[faces]} faces"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=CONSOLE,
                transient=False,
            )
            self._progress.start()
            self._task = self._progress.add_task(self.label, total=self.total, rate=0.0, faces=0)
        return self

    def set_total(self, total: int) -> None:
        self.total = total
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, total=total)

    @property
    def rate(self) -> float:
        elapsed = time.monotonic() - self._started
        return self.done / elapsed if elapsed > 0 else 0.0

    def advance(self, performers: int, faces: int) -> None:
        self.done += performers
        self.faces += faces
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, advance=performers, rate=self.rate, faces=self.faces)
            return
        now = time.monotonic()
        if now - self._last_log >= self.every_s:
            self._last_log = now
            log.info(self.line())

    def line(self) -> str:
        total = f"/{self.total}" if self.total is not None else ""
        eta = ""
        if self.total and self.rate > 0:
            left = max(0, self.total - self.done) / self.rate
            eta = f", ETA {int(left // 3600)}h{int(left % 3600 // 60):02d}m{int(left % 60):02d}s"
        return (
            f"{self.label}: {self.done}{total} performers, {self.rate:.1f}/s, "
            f"{self.faces} faces{eta}"
        )

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
        log.info(self.line())
