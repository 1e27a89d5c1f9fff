"""The sidecar's scan schedule (STASH_SENSE_SCAN_SCHEDULE): a background thread that starts or
resumes the library scan by itself.

At each scheduled time: nothing while a scan runs (here or in another process: no overlap);
nothing while the latest scan is paused by the user (a user's pause holds until the user
resumes it); a scan that paused itself (memory ceiling, the sidecar shut down) or stopped
(Stash down) is resumed; after a finished scan, with STASH_SENSE_SCAN_NEW_SCENES on, a new
scan of the same scope lists only the scenes Stash added or edited since the finished one
(from its watermark). The first look is `first_delay_s` after the sidecar starts, then one
every interval.
"""

from __future__ import annotations

import logging
import threading
import time

from stash_sense.app.errors import InvalidInput
from stash_sense.app.library import ScanRunner
from stash_sense.app.library_models import ScanRequest, Scope
from stash_sense.library.scan import USER_PAUSE
from stash_sense.settings import parse_schedule

log = logging.getLogger(__name__)

NAMED = {"hourly": 60, "daily": 24 * 60}
#: the scan a shutdown paused resumes at the next look (its reason is not the user's)
SHUTDOWN_PAUSE = "the sidecar shut down"


def interval_s(schedule: str) -> float | None:
    """Seconds between looks for a schedule value; None for "off" (ValueError when malformed)."""
    text = parse_schedule(schedule)
    if text == "off":
        return None
    return float(NAMED.get(text) or int(text)) * 60


class ScanSchedule:
    """Looks at the scan every `every_s` seconds on a daemon thread (see the module docstring)."""

    def __init__(
        self,
        runner: ScanRunner,
        schedule: str,
        every_s: float,
        *,
        new_scenes: bool = True,
        frames: int = 40,
        first_delay_s: float = 60.0,
    ) -> None:
        self.runner = runner
        self.schedule = schedule
        self.every_s = every_s
        self.new_scenes = new_scenes
        self.frames = frames
        self._first = first_delay_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.next_at: float | None = None
        self.last: str | None = None  # what the latest look did

    def start(self) -> None:
        self.next_at = time.time() + self._first
        self._thread = threading.Thread(target=self._loop, name="scan-schedule", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """End the thread (a scan it started goes on until the caller pauses it)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        self.next_at = None

    def _loop(self) -> None:
        wait = self._first
        while not self._stop.wait(wait):
            try:
                self.last = self.look()
            except Exception as err:  # a look must not end the schedule; keep why
                log.exception("the scheduled scan could not start")
                self.last = f"failed: {err}"
            wait = self.every_s
            self.next_at = time.time() + wait

    def look(self) -> str:
        """One scheduled look: what it did ("running", "held: ...", "resumed", "started",
        "nothing to do")."""
        if self.runner.running:
            return "running"
        latest = self.runner.store.latest_scan()
        if latest is not None and latest.status == "paused" and latest.reason == USER_PAUSE:
            return "held: paused by the user"
        unfinished = latest is not None and latest.status != "done"
        if not unfinished and not self.new_scenes:
            return "nothing to do"
        scope: Scope = "untagged"
        if latest is not None and latest.scope in ("untagged", "all", "since"):
            scope = latest.scope  # type: ignore[assignment]
        request = ScanRequest(scope=scope, since=latest.since if latest else None,
                              frames=self.frames, new_only=True)  # fmt: skip
        try:
            self.runner.start(request)
        except InvalidInput as err:  # another process scans, or no Stash URL
            return f"held: {err}"
        return "resumed" if unfinished else "started"
