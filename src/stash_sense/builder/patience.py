"""Patience with a source: a call tried again while it fails for now (5xx, timeouts, resets),
with growing pauses, for at most `patience_s`; then the run stops with its progress saved."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from stash_sense.builder.options import BuildError, BuildIncomplete
from stash_sense.sources.http import FetchError

log = logging.getLogger("stash_sense.builder")

T = TypeVar("T")


def patiently(
    source: str, what: str, call: Callable[[], T], patience_s: float, stop: threading.Event
) -> T:
    """`call()`, tried again while it fails for now, for at most `patience_s` (or until `stop`).

    A permanent failure is a BuildError; one that outlasts the patience is BuildIncomplete.
    """
    deadline = time.monotonic() + patience_s
    attempt = 0
    while True:
        try:
            return call()
        except FetchError as exc:
            if not exc.transient:
                raise BuildError(f"{source}: {what}: {exc}") from None
            if time.monotonic() >= deadline or stop.is_set():
                raise BuildIncomplete(
                    f"{source}: {what}: {exc}; still failing after {patience_s:.0f}s: progress "
                    "is saved, run the same command again later"
                ) from None
            delay = min(30.0, 2.0**attempt, max(0.1, deadline - time.monotonic()))
            log.warning("%s: %s: %s; trying again in %.0fs", source, what, exc, delay)
            time.sleep(delay)
            attempt += 1
