"""The library scan: page the user's Stash, identify scene after scene, keep what was found.

Scenes come oldest edit (`updated_at`) first. After each scene the scan's watermark is that
scene's `updated_at`, written in the same transaction as the scene's result, so a scan resumed
after kill -9 asks Stash only for scenes edited at or after it and skips those already done at
their current edit: none is scanned twice and none is lost. A scene edited since it was scanned
has a new `updated_at` and is scanned again. A scene that cannot be identified (files gone, a
sprite that 404s, Stash answering 500) is recorded with the reason and tried again by the next
scan; the scan goes on. One scene is analysed at a time while the next one's Stash requests and
frame decode run ahead on one background thread (library/prefetch.py; a pause or kill drops
that scene unrecorded), across pages too: the next page is listed while the last scene of a
page is fetched, so its first scene is fetched ahead as well; every request to Stash waits for
a token of the scan's own bucket (sources/ratelimit.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass, field
from typing import Any, Protocol

from stash_sense.faces import FaceEngine
from stash_sense.library.identity import person_vector
from stash_sense.library.pace import default_ceiling, lower_priority, over_ceiling, settled_rss
from stash_sense.library.prefetch import Prefetch
from stash_sense.library.scan_options import ScanOptions, ScanScope, scene_filter
from stash_sense.library.store import LibraryStore, PersonVector, Scan
from stash_sense.library.summary import refresh as refresh_summaries
from stash_sense.matching import Matcher
from stash_sense.scenes.faces import SceneCancelled
from stash_sense.scenes.frames import Frame, FrameError
from stash_sense.scenes.identify import identify_scene
from stash_sense.scenes.stash import performers_on_scene, stash_scene_frames
from stash_sense.sources.stash import ScenePage, SceneRef, StashClient, StashError, StashScene

log = logging.getLogger(__name__)

#: Why a scan paused on the user's request (a schedule leaves such a scan paused).
USER_PAUSE = "paused by the user"


class Recognizes(Protocol):
    """An open face database with its matcher and the engine its embedders need."""

    engine: FaceEngine
    matcher: Matcher


#: Lends the current recognizer for one scene (the sidecar's may be swapped between scenes).
UseRecognizer = Callable[[], AbstractContextManager[Recognizes]]
#: Scenes done before the default memory ceiling is set: the first alone (its successor's fetch
#: may not have run beside it) left the ceiling 500 MB under a steady scan's RSS (bench
#: library_health_scan: "memory ceiling: 1003 MB > 983" after 7 scenes, 471 MB after the first).
BASELINE_SCENES = 2
#: A scene as Stash has it, its frames and where they came from ("sprite", "video", ...).
Fetched = tuple[StashScene, list[Frame], str]


@dataclass
class Progress:
    """Where a scan stands: done / total, the rate of this run and the time left."""

    scan: Scan | None
    scanned_this_run: int = 0
    rate_per_hour: float | None = None
    eta_s: float | None = None
    current: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


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
        self._ceiling: float | None = None  # MiB; set after this run's first scenes done
        self._baselines: list[float] = []  # the RSS after each of them

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

    def _page(self, watermark: str | None, page: int) -> ScenePage:
        filt = scene_filter(self.options, watermark)
        for wait in (*self.options.page_retries_s, None):
            try:
                return self.stash.scene_page(filt, page, self.options.per_page)
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
        listed: ScenePage | None = None  # the next page, listed while its predecessor's last
        while True:  # scene was fetched, so that page's first scene is fetched ahead too
            if self._pause.is_set():
                return self._paused()
            try:
                found = self._page(watermark, page) if listed is None else listed
            except StashError as err:
                if self._pause.is_set():
                    return self._paused()
                return {"status": "stopped", "reason": f"cannot list scenes: {err}"}
            listed, advanced = None, False
            full = len(found.scenes) >= self.options.per_page
            todo = [ref for ref in found.scenes if not self.store.already_handled(scan.id, ref)]
            for ref, following in zip(todo, [*todo[1:], None], strict=False):
                if self._pause.is_set():
                    return self._paused()
                if following is None and full:
                    listed, following = self._next_page(scan, ref)
                stop = self._one(scan, ref, ahead, following)
                if stop is not None:
                    return stop
                watermark, advanced = ref.updated_at, True
            if not full:
                return {"status": "done", "reason": None, "finished_at": time.time()}
            page = 1 if advanced else page + 1

    def _next_page(self, scan: Scan, last: SceneRef) -> tuple[ScenePage | None, SceneRef | None]:
        """The page that follows `last` (the last scene of a page, not recorded yet: listed from
        its watermark) and its first scene to do, while `last` is being fetched; (None, None)
        when Stash does not answer now (the loop lists it again, with its retries)."""
        try:
            page = self.stash.scene_page(scene_filter(self.options, last.updated_at), 1,
                                         self.options.per_page)  # fmt: skip
        except StashError:
            return None, None
        first = next((ref for ref in page.scenes if ref.id != last.id
                      and not self.store.already_handled(scan.id, ref)), None)  # fmt: skip
        return page, first

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
        """The user's ceiling, else (once this run's first BASELINE_SCENES scenes are done: the
        models are loaded then, and the second was analysed while its successor was fetched
        ahead, as every later one is) pace.default_ceiling of their RSS."""
        if self._ceiling is None:
            if self.options.memory_ceiling_mb is not None:
                self._ceiling = self.options.memory_ceiling_mb
            elif outcome == "done":
                self._baselines.append(settled_rss())
                if len(self._baselines) >= BASELINE_SCENES:
                    self._ceiling = default_ceiling(self._baselines)
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
