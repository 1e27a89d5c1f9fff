"""The library scan: page the user's Stash, identify scene after scene, keep what was found.

Scenes come oldest edit (`updated_at`) first. After each scene the scan's watermark is that
scene's `updated_at`, written in the same transaction as the scene's result, so a scan resumed
after kill -9 asks Stash only for scenes edited at or after it and skips those already done at
their current edit: none is scanned twice and none is lost. A scene edited since it was scanned
has a new `updated_at` and is scanned again. A scene that cannot be identified (files gone, a
sprite that 404s, Stash answering 500) is recorded with the reason and tried again by the next
scan; the scan goes on. One scene is analysed at a time while the next one's Stash requests and
frame decode run ahead on one background thread (library/prefetch.py; a pause or kill drops
that scene unrecorded); every request to Stash waits for a token of the scan's own bucket
(sources/ratelimit.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from stash_sense.faces import FaceEngine
from stash_sense.library.identity import person_vector
from stash_sense.library.pace import first_scene_ceiling, lower_priority, over_ceiling
from stash_sense.library.prefetch import Prefetch
from stash_sense.library.store import LibraryStore, PersonVector, Scan
from stash_sense.library.summary import refresh as refresh_summaries
from stash_sense.matching import Matcher
from stash_sense.scenes.faces import SceneCancelled
from stash_sense.scenes.frames import Frame, FrameError
from stash_sense.scenes.identify import identify_scene
from stash_sense.scenes.stash import performers_on_scene, stash_scene_frames
from stash_sense.sources.stash import SceneRef, StashClient, StashError, StashScene

log = logging.getLogger(__name__)

#: Why a scan paused on the user's request (a schedule leaves such a scan paused).
USER_PAUSE = "paused by the user"
#: Waits before asking Stash for a page again when it fails (then the scan stops, resumable).
PAGE_RETRIES_S = (1.0, 4.0, 15.0)


class Recognizes(Protocol):
    """An open face database with its matcher and the engine its embedders need."""

    engine: FaceEngine
    matcher: Matcher


#: Lends the current recognizer for one scene (the sidecar's may be swapped between scenes).
UseRecognizer = Callable[[], AbstractContextManager[Recognizes]]
#: A scene as Stash has it, its frames and where they came from ("sprite", "video", ...).
Fetched = tuple[StashScene, list[Frame], str]


class ScanScope(StrEnum):
    UNTAGGED = "untagged"  # scenes without performers (the default)
    ALL = "all"
    SINCE = "since"  # scenes edited since a date


@dataclass
class ScanOptions:
    scope: ScanScope = ScanScope.UNTAGGED
    since: str | None = None  # RFC 3339 or YYYY-MM-DD, with scope SINCE
    frames: int = 40
    source: str = "auto"
    per_page: int = 100
    #: requests a second toward Stash (GraphQL and files), at most `burst` at once
    requests_per_s: float = 4.0
    burst: int = 4
    #: resident MiB above which the scan pauses after a scene; None: its RSS after this run's
    #: first scene plus pace.GROWTH_MB (models and database included in that first figure)
    memory_ceiling_mb: float | None = None
    niceness: int = 10
    page_retries_s: tuple[float, ...] = PAGE_RETRIES_S
    #: a new scan (after a finished one of the same scope) starts at that one's watermark:
    #: only the scenes Stash added or edited since are listed
    new_only: bool = False


@dataclass
class Progress:
    """Where a scan stands: done / total, the rate of this run and the time left."""

    scan: Scan | None
    scanned_this_run: int = 0
    rate_per_hour: float | None = None
    eta_s: float | None = None
    current: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def scene_filter(options: ScanOptions, watermark: str | None) -> dict[str, Any]:
    """Stash's SceneFilterType for the scope, from the watermark on (a second before it:
    Stash keeps whole seconds, and scenes edited in that second are skipped when done)."""
    out: dict[str, Any] = {}
    if options.scope is ScanScope.UNTAGGED:
        out["performer_count"] = {"value": 0, "modifier": "EQUALS"}
    start = watermark or (options.since if options.scope is ScanScope.SINCE else None)
    if start:
        out["updated_at"] = {"value": _second_before(start), "modifier": "GREATER_THAN"}
    return out


def _second_before(stamp: str) -> str:
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return stamp  # Stash reports the value it cannot parse
    return (moment - timedelta(seconds=1)).isoformat()


class LibraryScan:
    """One scan run over `stash` (a client of its own: its limiter paces this scan only), with
    the recognizer `use()` lends for each scene."""

    def __init__(
        self,
        store: LibraryStore,
        stash: StashClient,
        use: UseRecognizer,
        options: ScanOptions | None = None,
    ) -> None:
        self.store = store
        self.stash = stash
        self.use = use
        self.options = options or ScanOptions()
        self._pause = threading.Event()
        self._pause_reason = USER_PAUSE
        self._lock = threading.Lock()
        self._scan: Scan | None = None
        self._run_started = time.monotonic()
        self._scanned = 0
        self._current: str | None = None
        self._ceiling: float | None = None  # MiB; set after this run's first scene

    # control ----------------------------------------------------------------
    def pause(self, reason: str = USER_PAUSE) -> None:
        """Stop after (or, through the pipeline's checks, during) the current scene; `reason`
        is kept with the paused scan (a schedule resumes any pause but the user's)."""
        self._pause_reason = reason
        self._pause.set()

    def _paused(self) -> dict[str, Any]:
        return {"status": "paused", "reason": self._pause_reason}

    @property
    def pausing(self) -> bool:
        return self._pause.is_set()

    def progress(self) -> Progress:
        with self._lock:
            scan = self.store.scan(self._scan.id) if self._scan else self.store.latest_scan()
            elapsed = time.monotonic() - self._run_started
            rate = self._scanned / elapsed * 3600 if self._scanned and elapsed > 0 else None
            left = max(0, scan.total - scan.done) if scan else 0
            eta = left / rate * 3600 if rate else None
            return Progress(scan, self._scanned, rate, eta, self._current)

    # the run ------------------------------------------------------------------
    def run(self, *, resume: bool = True) -> Scan:
        """Scan until every scene in scope is handled, or a pause, or Stash stays down."""
        lower_priority(self.options.niceness)
        scan = self._open(resume)
        with self._lock:
            self._scan = scan
            self._run_started = time.monotonic()
        outcome = self._loop(scan)
        self.store.set_scan(scan.id, **outcome)
        found = self.store.scan(scan.id)
        assert found is not None
        return found

    def _open(self, resume: bool) -> Scan:
        opts = self.options
        since = opts.since if opts.scope is ScanScope.SINCE else None
        last = self.store.latest_scan()
        resumable = (
            resume and last is not None and last.status != "done"
            and last.scope == opts.scope.value and last.since == since
        )  # fmt: skip
        carried = (
            last.watermark if opts.new_only and not resumable and last is not None
            and last.status == "done" and last.scope == opts.scope.value and last.since == since
            else None
        )  # fmt: skip
        try:
            total = self.stash.scene_page(scene_filter(opts, carried), 1, 1).count
        except StashError:  # Stash down: the scan is opened anyway, and stops saying why
            total = last.total if resumable and last is not None else 0
        if resumable and last is not None:
            self.store.set_scan(last.id, status="running", reason=None, total=total)
            found = self.store.scan(last.id)
            assert found is not None
            return found
        scan = self.store.new_scan(opts.scope.value, since, total)
        if carried is not None:
            self.store.set_scan(scan.id, watermark=carried)
            scan.watermark = carried
        return scan

    def _page(self, watermark: str | None, page: int, per_page: int) -> Any:
        filt = scene_filter(self.options, watermark)
        for wait in (*self.options.page_retries_s, None):
            try:
                return self.stash.scene_page(filt, page, per_page)
            except StashError:
                if wait is None or self._pause.wait(wait):
                    raise
        raise AssertionError("unreachable")

    def _loop(self, scan: Scan) -> dict[str, Any]:
        stop = self._pause.is_set
        with Prefetch(self._fetch, niceness=self.options.niceness, should_stop=stop) as ahead:
            return self._pages(scan, ahead)

    def _pages(self, scan: Scan, ahead: Prefetch[Fetched]) -> dict[str, Any]:
        page, watermark = 1, scan.watermark
        while True:
            if self._pause.is_set():
                return self._paused()
            try:
                found = self._page(watermark, page, self.options.per_page)
            except StashError as err:
                if self._pause.is_set():
                    return self._paused()
                return {"status": "stopped", "reason": f"cannot list scenes: {err}"}
            advanced = False
            todo = [ref for ref in found.scenes if not self.store.already_handled(scan.id, ref)]
            for ref, following in zip(todo, [*todo[1:], None], strict=False):
                if self._pause.is_set():
                    return self._paused()
                stop = self._one(scan, ref, ahead, following)
                if stop is not None:
                    return stop
                watermark, advanced = ref.updated_at, True
            if len(found.scenes) < self.options.per_page:
                return {"status": "done", "reason": None, "finished_at": time.time()}
            page = 1 if advanced else page + 1

    def _one(
        self, scan: Scan, ref: SceneRef, ahead: Prefetch[Fetched], following: SceneRef | None
    ) -> dict[str, Any] | None:
        """Identify one scene (while `following` is fetched ahead) and record it; a dict ends
        the run (a pause, no face database, the memory ceiling)."""
        with self._lock:
            self._current = ref.id
        try:
            with ExitStack() as stack:
                try:
                    rec = stack.enter_context(self.use())
                except Exception as err:  # no database loaded: nothing to scan with
                    return {"status": "stopped", "reason": f"no face database: {err}"}
                outcome = self._scene(scan, ref, rec, ahead, following)
                if outcome == "paused":
                    return self._paused()
        finally:
            with self._lock:
                self._current = None
        ceiling = self._memory_ceiling(outcome)
        rss = None if ceiling is None else over_ceiling(ceiling)
        if rss is not None:
            reason = f"memory ceiling: {rss:.0f} MB > {ceiling:.0f}"
            return {"status": "paused", "reason": reason}
        return None

    def _memory_ceiling(self, outcome: str) -> float | None:
        """The user's ceiling, else (from this run's first scene done: the models are loaded
        then, not after a scene that failed first) that scene's RSS plus pace.GROWTH_MB."""
        if self._ceiling is None:
            if self.options.memory_ceiling_mb is not None:
                self._ceiling = self.options.memory_ceiling_mb
            elif outcome == "done":
                self._ceiling = first_scene_ceiling()
                log.info("memory ceiling for this scan: %.0f MB", self._ceiling)
        return self._ceiling

    def _scene(
        self,
        scan: Scan,
        ref: SceneRef,
        rec: Recognizes,
        ahead: Prefetch[Fetched],
        following: SceneRef | None,
    ) -> str:
        """ "done", "failed" (recorded with the reason) or "paused" (nothing recorded)."""
        started = time.perf_counter()
        try:
            try:
                scene, frames, used = ahead.take(ref.id)
            finally:  # the next scene's Stash requests and decode run while this one is analysed
                if following is not None:
                    ahead.ahead(following.id)
            result = identify_scene(
                frames, rec.engine, rec.matcher, source=used, scene_id=scene.id,
                should_stop=self._pause.is_set,
            )  # fmt: skip
        except SceneCancelled:
            return "paused"
        except (FrameError, StashError) as err:
            if self._pause.is_set():  # a decode told to stop reads no frame: not a failure
                return "paused"
            self.store.record_failure(scan.id, ref, str(err))
            return "failed"
        except Exception as err:  # a scene must not end the scan; keep why, in one line
            log.exception("scene %s could not be identified", ref.id)
            self.store.record_failure(scan.id, ref, f"{type(err).__name__}: {err}")
            return "failed"
        embedder = rec.matcher.embedder_names[0]
        vectors = [_vector(p, embedder) for p in result.persons]
        tagged = [(p.id, p.name, [{"endpoint": s.endpoint, "stash_id": s.stash_id}
                                  for s in p.stash_ids]) for p in scene.performers]  # fmt: skip
        owners = performers_on_scene(result, scene)
        elapsed = time.perf_counter() - started
        self.store.record_result(scan.id, ref, result, owners, vectors, elapsed, tagged)
        refresh_summaries(self.store)  # the list stays instant right after a long scan
        with self._lock:
            self._scanned += 1
        return "done"

    def _fetch(self, scene_id: str, should_stop: Callable[[], bool]) -> Fetched:
        """The scene as Stash has it now and its frames, where they came from (in the
        prefetch's thread, with a recognizer of its own for the sprite pass)."""
        scene = self.stash.find_scene(scene_id)
        if scene is None:
            raise FrameError(f"Stash no longer has scene {scene_id}")
        with self.use() as rec:
            frames, used, _ = stash_scene_frames(
                self.stash, scene, self.options.frames, source=self.options.source,
                should_stop=should_stop, engine=rec.engine,
            )  # fmt: skip
        return scene, frames, used


def _vector(person: Any, embedder: str) -> PersonVector | None:
    vec = person_vector(person, embedder)
    return None if vec is None else PersonVector(embedder, vec)
