"""Pages from a background thread, a bounded queue ahead of the writer: the full pass reads the
source page by page while images of earlier pages download and embed."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator

from stash_sense.sources.types import PerformerPage

_END = object()


def prefetch(
    fetch: Callable[[int], PerformerPage | int],
    start_page: int,
    page_size: int,
    stop: threading.Event,
    limit: int | None = None,
    on_end: Callable[[], None] | None = None,
    ahead: int = 2,
) -> Iterator[PerformerPage | int]:
    """`fetch(page)` from `start_page` on until a page comes back empty or the count (or
    `limit` performers) is reached; an int is a page that could not be read (a hole). An
    exception in the thread is raised here. `on_end()` runs in the thread after the last page."""
    q: queue.Queue[object] = queue.Queue(maxsize=ahead)

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        page, count = start_page, None
        while not stop.is_set():
            if limit is not None and (page - 1) * page_size >= limit:
                put(_END)
                return
            try:
                result = fetch(page)
            except BaseException as exc:
                put(exc)
                return
            if isinstance(result, PerformerPage):
                count = result.count
            if not put(result):
                return
            last = isinstance(result, PerformerPage) and not result.performers
            if last or (count is not None and page * page_size >= count):
                if on_end is not None:
                    on_end()
                put(_END)
                return
            page += 1

    threading.Thread(target=produce, name="pager", daemon=True).start()
    while True:
        item = q.get()
        if item is _END:
            return
        if isinstance(item, BaseException):
            raise item
        assert isinstance(item, PerformerPage | int)
        yield item
