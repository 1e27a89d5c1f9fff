"""One scene ahead: a background thread asks Stash for the next scene and decodes its frames
while the scan analyses the current one, so the decode (ffmpeg, another process) and the
detection (this process) use both cores.

One thread, one scene ahead at most: Stash serves one scene's files at a time and at most one
extra scene's frames are held. Nothing here records anything: a pause or a stop drops the scene
fetched ahead (its decode is told to stop), and the scan reads it again when it gets to it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, TypeVar

from stash_sense.library.pace import lower_priority

T = TypeVar("T")


@dataclass
class _Ahead(Generic[T]):
    key: str
    future: Future[T]


class Prefetch(Generic[T]):
    """Runs `fetch(key, should_stop)` on one background thread (its CPU priority lowered by
    `niceness`, like the scan's), at most one key ahead; `take(key)` waits for that key's
    result (fetching it first when it was not asked for ahead) and re-raises its error."""

    def __init__(
        self,
        fetch: Callable[[str, Callable[[], bool]], T],
        *,
        niceness: int = 0,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> None:
        self._fetch = fetch
        self._outer_stop = should_stop
        self._drop = threading.Event()
        self._pool = ThreadPoolExecutor(
            1, thread_name_prefix="scan-prefetch", initializer=lower_priority,
            initargs=(niceness,),
        )  # fmt: skip
        self._ahead: _Ahead[T] | None = None

    def _stopping(self) -> bool:
        return self._drop.is_set() or self._outer_stop()

    def ahead(self, key: str) -> None:
        """Start fetching `key` in the background (nothing when a fetch is already ahead)."""
        if self._ahead is None and not self._drop.is_set():
            self._ahead = _Ahead(key, self._pool.submit(self._fetch, key, self._stopping))

    def take(self, key: str) -> T:
        """`key`'s fetched result (waiting for it); a fetch ahead for another key is dropped."""
        if self._ahead is not None and self._ahead.key != key:
            self._discard()
        if self._ahead is None:
            self.ahead(key)
        ahead, self._ahead = self._ahead, None
        if ahead is None:  # closed
            raise RuntimeError("the prefetch is closed")
        return ahead.future.result()

    def _discard(self) -> None:
        ahead, self._ahead = self._ahead, None
        if ahead is not None and not ahead.future.cancel():
            self._drop.set()  # the running fetch stops at its next check
            try:
                ahead.future.exception()
            finally:
                self._drop.clear()

    def close(self) -> None:
        """Drop the scene fetched ahead (its decode stops) and end the thread."""
        self._drop.set()
        self._ahead = None
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> Prefetch[T]:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
