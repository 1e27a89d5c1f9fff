"""The builder's progress reports rendered for `stash-sense build`: a rich bar per stage (rate, ETA)
on a terminal, plain log lines otherwise.

The bar and the log share one console (`CONSOLE`; the command logs through a RichHandler on it),
so retry and 429 lines print above the live bar instead of being glued onto it."""

from __future__ import annotations

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

from stash_sense.app.build import BuildProgress, LogProgress

CONSOLE = Console(stderr=True)


class ProgressBars:
    """An `on_progress` callback for `build()`: a bar per stage, stopped when the stage reports
    that it ended (the builder reports that however the stage ends)."""

    def __init__(self, console: Console = CONSOLE) -> None:
        self.console = console
        self._lines = LogProgress()
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    def __call__(self, report: BuildProgress) -> None:
        if not self.console.is_terminal:
            self._lines(report)
            return
        if self._bar is None:
            self._bar = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]:.1f}/s  {task.fields[faces]} faces"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=self.console,
            )
            self._bar.start()
            self._task = self._bar.add_task(report.stage, total=None, rate=0.0, faces=0)
        assert self._task is not None
        self._bar.update(
            self._task,
            total=report.total,
            completed=report.done,
            rate=report.rate,
            faces=report.faces,
        )
        if report.finished:
            self._stop()
            self._lines(report)

    def _stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()
        self._bar, self._task = None, None
