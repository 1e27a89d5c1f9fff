"""Library health use cases: refresh the link / merge items in the background (every local
performer's image read through a paced Stash client of its own and identified), list items of a
kind without those decided, apply / dismiss and undo.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

from stash_sense.app.errors import InvalidInput, NotFound
from stash_sense.app.library_models import (
    HealthDecisionOut,
    HealthDecisionRequest,
    HealthItem,
    HealthPage,
    HealthQuery,
    HealthStatus,
)
from stash_sense.library import LibraryStore
from stash_sense.library import health as store_health
from stash_sense.library.health_graph import graph_file_of, graph_items
from stash_sense.library.health_refresh import Progress, link_items, merge_items, read_performers
from stash_sense.library.scan import UseRecognizer
from stash_sense.sources.ratelimit import TokenBucket
from stash_sense.sources.stash import StashClient, StashError

__all__ = ["HealthRunner", "decide_health", "list_health", "undo_health"]


class HealthRunner:
    """The link / merge refresh of this process: at most one at a time, never while a scan of
    this process runs (`busy()`), so Stash sees one paced client at a time."""

    def __init__(
        self,
        store: LibraryStore,
        stash_url: str | None,
        stash_api_key: str | None,
        use: UseRecognizer,
        *,
        requests_per_s: float = 4.0,
        busy: Callable[[], bool] | None = None,
    ) -> None:
        self.store = store
        self._url = stash_url
        self._key = stash_api_key
        self._use = use
        self._rate = requests_per_s
        self._busy = busy or (lambda: False)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.progress = Progress()
        self.reason: str | None = None
        self.finished_at: float | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> HealthStatus:
        """Refresh on a background thread (InvalidInput while one runs, a scan runs, or without
        a Stash URL)."""
        with self._lock:
            if not self._url:
                raise InvalidInput("no Stash URL is configured (STASH_SENSE_STASH_URL)")
            if self.running:
                raise InvalidInput("a health refresh is already running")
            if self._busy():
                raise InvalidInput("a library scan is running: refresh after it")
            self.progress, self.reason, self._stop = Progress(), None, threading.Event()
            self._thread = threading.Thread(target=self._run, name="library-health", daemon=True)
            self._thread.start()
        return self.status()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def wait(self, timeout_s: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _run(self) -> None:
        stash = StashClient(self._url or "", self._key, limiter=TokenBucket(self._rate, 4))
        try:
            with self._use() as rec:
                performers = read_performers(stash, rec.engine, rec.matcher, self.progress,
                                             self._stop, self.store)  # fmt: skip
                high = float(rec.matcher.tiers.high)
                graph_file = graph_file_of(rec.matcher.db.path)
            if performers is None or self._stop.is_set():
                self.reason = "stopped before the end: the previous items are kept"
                return
            items = link_items(performers) + merge_items(performers, high)
            items += graph_items(performers, graph_file)
            store_health.replace_items(self.store, items)
        except StashError as err:
            self.reason = f"cannot read Stash's performers: {err}"
        except Exception as err:  # the thread's end is its status: kept, never raised
            self.reason = f"{type(err).__name__}: {err}"[:300]
        finally:
            stash.close()
            self.finished_at = time.time()

    def status(self) -> HealthStatus:
        links = store_health.stored_items(self.store, "link")
        likely = sum(1 for i in links if i["match"]["tier"] == "likely")
        return HealthStatus(
            running=self.running, done=self.progress.done, total=self.progress.total,
            failed=self.progress.failed, reason=self.reason, finished_at=self.finished_at,
            unchanged=self.progress.unchanged,
            links=len(links) - likely, likely_links=likely,
            merges=len(store_health.stored_items(self.store, "merge")),
        )  # fmt: skip


def _check_items(store: LibraryStore, use: UseRecognizer | None) -> list[dict[str, Any]]:
    """The "check this scene" items, a tagged performer claimed only when the face database
    knows one of its stash ids (any stash id will do when no database is loaded)."""
    if use is None:
        return store_health.check_items(store)
    with ExitStack() as stack:
        try:
            rec = stack.enter_context(use())
        except Exception:  # no face database loaded: "has a stash id" is all there is
            return store_health.check_items(store)
        db = rec.matcher.db
        return store_health.check_items(
            store, lambda endpoint, sid: db.performer_by_stash_id(endpoint, sid) is not None
        )


def list_health(
    store: LibraryStore, query: HealthQuery, use: UseRecognizer | None = None
) -> HealthPage:
    """One page of items of a kind, best first, none that is applied or dismissed."""
    if query.kind == "check":
        items = _check_items(store, use)
    else:
        items = store_health.stored_items(store, query.kind)
        if query.kind == "link":
            items = [i for i in items if i["match"]["tier"] == query.tier]
    decided = store_health.decided(store)
    items = [i for i in items if i["id"] not in decided]
    window = items[query.offset : query.offset + query.limit]
    return HealthPage(kind=query.kind, total=len(items), offset=query.offset,
                      items=[HealthItem.model_validate(i) for i in window])  # fmt: skip


def decide_health(
    store: LibraryStore, request: HealthDecisionRequest, use: UseRecognizer | None = None
) -> HealthDecisionOut:
    """Record apply / dismiss for an item (NotFound when no current item has that id)."""
    kind = request.item_id.split(":", 1)[0]
    listed = (_check_items(store, use) if kind == "check"
              else store_health.stored_items(store, kind))  # fmt: skip
    if not any(i["id"] == request.item_id for i in listed):
        raise NotFound(f"no library health item {request.item_id}")
    found = store_health.decide(store, request.item_id, request.kind)
    return HealthDecisionOut(**found.__dict__)


def undo_health(store: LibraryStore, decision_id: int | None = None) -> HealthDecisionOut:
    """Undo a health decision (default: the latest in force); NotFound when there is none."""
    undone = store_health.undo(store, decision_id)
    if undone is None:
        which = "no health decision" if decision_id is None else f"no health decision {decision_id}"
        raise NotFound(f"{which} in force to undo")
    return HealthDecisionOut(**undone.__dict__)
