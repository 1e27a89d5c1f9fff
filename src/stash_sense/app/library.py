"""The library scan's use cases: start, pause and follow a scan; list suggestions; apply,
reject and undo; list rejections and report where they cluster.

`ScanRunner` holds the one scan of a process: the sidecar starts it on a background thread
(requests go on meanwhile), the CLI runs it in the foreground and pauses it on Ctrl-C. The
scan talks to Stash through a client of its own, paced by its own token bucket.
"""

from __future__ import annotations

import threading
from pathlib import Path

from stash_sense.app.errors import InvalidInput, NotFound
from stash_sense.app.library_models import (
    CandidateOut,
    DecisionList,
    DecisionOut,
    DecisionRequest,
    PersonOut,
    RejectionReport,
    ScanRequest,
    ScanStatus,
    SceneOut,
    SuggestionPage,
    SuggestionsQuery,
)
from stash_sense.app.results import StashId
from stash_sense.library import LibraryScan, LibraryStore, ScanOptions, ScanScope, StateError
from stash_sense.library.identity import PerformerRef, from_blob
from stash_sense.library.lock import ScanLock
from stash_sense.library.report import rejection_report as _report
from stash_sense.library.scan import USER_PAUSE, Recognizes, UseRecognizer
from stash_sense.library.store import Decision, PersonVector
from stash_sense.library.suggest import (
    PRESELECT_MIN_FRAMES,
    Candidate,
    PersonSuggestion,
    SceneSuggestions,
    SuggestionFilter,
    suggestions,
)
from stash_sense.sources.ratelimit import TokenBucket
from stash_sense.sources.stash import StashClient

__all__ = [
    "Recognizes",
    "ScanRunner",
    "decide",
    "list_decisions",
    "list_suggestions",
    "open_library",
    "rejection_report",
    "undo_decision",
]


def open_library(data_dir: Path) -> LibraryStore:
    """The state database in `data_dir` (created on first use). InvalidInput when it cannot be
    opened or is newer than this program."""
    try:
        return LibraryStore.in_folder(data_dir)
    except StateError as err:
        raise InvalidInput(str(err)) from None


class ScanRunner:
    """The scan of this process: at most one at a time."""

    def __init__(
        self,
        store: LibraryStore,
        stash_url: str | None,
        stash_api_key: str | None,
        use: UseRecognizer,
        *,
        requests_per_s: float = 4.0,
        memory_ceiling_mb: float | None = None,
    ) -> None:
        self.store = store
        self._url = stash_url
        self._key = stash_api_key
        self._use = use
        self._rate = requests_per_s
        self._ceiling = memory_ceiling_mb
        self._lock = threading.Lock()
        self._scan: LibraryScan | None = None
        self._thread: threading.Thread | None = None

    def _new(self, request: ScanRequest) -> LibraryScan:
        if not self._url:
            raise InvalidInput("no Stash URL is configured (STASH_SENSE_STASH_URL)")
        if request.scope == "since" and not request.since:
            raise InvalidInput("scope 'since' needs a date (since)")
        options = ScanOptions(
            scope=ScanScope(request.scope), since=request.since, frames=request.frames,
            requests_per_s=self._rate, memory_ceiling_mb=self._ceiling,
            new_only=request.new_only,
        )  # fmt: skip
        bucket = TokenBucket(options.requests_per_s, options.burst)
        stash = StashClient(self._url, self._key, limiter=bucket)
        return LibraryScan(self.store, stash, self._use, options)

    def start(self, request: ScanRequest) -> ScanStatus:
        """Start the scan on a background thread (InvalidInput when one is running, here or in
        another process on the same state database)."""
        with self._lock:
            if self.running:
                raise InvalidInput("a scan is already running")
            scan = self._new(request)
            lock = ScanLock(self.store.path)
            try:
                lock.acquire()
            except StateError as err:
                scan.stash.close()
                raise InvalidInput(str(err)) from None
            self._scan = scan
            self._thread = threading.Thread(
                target=self._background, args=(scan, request, lock), name="library-scan",
                daemon=True,
            )  # fmt: skip
            self._thread.start()
        return self.status()

    def _background(self, scan: LibraryScan, request: ScanRequest, lock: ScanLock) -> None:
        try:
            scan.run(resume=not request.restart)
        except Exception as err:  # the thread's end is its status: kept, never raised
            latest = self.store.latest_scan()
            if latest is not None and latest.status == "running":
                self.store.set_scan(latest.id, status="stopped", reason=str(err)[:300])
        finally:
            scan.stash.close()
            lock.release()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def use(self) -> UseRecognizer:
        """Lends the current recognizer (the sidecar's may be swapped between uses)."""
        return self._use

    def pause(self, reason: str = USER_PAUSE) -> ScanStatus:
        """Ask the running scan to stop at the next check; it resumes where it stopped. A
        schedule leaves a scan the user paused alone (any other `reason`, it resumes)."""
        with self._lock:
            if self._scan is not None and self.running:
                self._scan.pause(reason)
        return self.status()

    def wait(self, timeout_s: float | None = None) -> None:
        thread = self._thread
        if thread is not None:
            thread.join(timeout_s)

    def status(self) -> ScanStatus:
        if self._scan is not None:
            p = self._scan.progress()
            scan, scanned, rate, eta, current = (
                p.scan,
                p.scanned_this_run,
                p.rate_per_hour,
                p.eta_s,
                p.current,
            )
        else:
            scan, scanned, rate, eta, current = self.store.latest_scan(), 0, None, None, None
        running = self.running or bool(
            self._scan is not None
            and self._thread is None
            and scan is not None
            and scan.status == "running"
        )
        return ScanStatus(
            running=running,
            scan_id=scan.id if scan else None,
            status=scan.status if scan else None,
            reason=scan.reason if scan else None,
            scope=scan.scope if scan else None,
            since=scan.since if scan else None,
            total=scan.total if scan else 0,
            done=scan.done if scan else 0,
            failed=scan.failed if scan else 0,
            scanned_this_run=scanned,
            rate_per_hour=round(rate, 1) if rate else None,
            eta_s=round(eta, 1) if eta is not None else None,
            current_scene=current,
        )


def list_suggestions(store: LibraryStore, query: SuggestionsQuery) -> SuggestionPage:
    """One page of scenes with their suggestions (rejected ones never among them)."""
    wanted = SuggestionFilter(
        lowest_tier=query.lowest_tier, studio=query.studio, date_from=query.date_from,
        date_to=query.date_to, has_suggestion=query.has_suggestion,
        preselected_only=query.preselected_only,
        min_frames=query.min_frames or PRESELECT_MIN_FRAMES,
        offset=query.offset, limit=query.limit,
    )  # fmt: skip
    page = suggestions(store, wanted)
    scenes = [_scene_out(s) for s in page.scenes]
    return SuggestionPage(total=page.total, offset=page.offset, scenes=scenes)


def _scene_out(s: SceneSuggestions) -> SceneOut:
    persons = [_person_out(p) for p in s.persons]
    return SceneOut(scene_id=s.scene_id, title=s.title, date=s.date, studio=s.studio,
                    persons=persons)  # fmt: skip


def _person_out(p: PersonSuggestion) -> PersonOut:
    return PersonOut(
        person_id=p.person_id, frames=p.frames, times=p.times, face_jpeg=p.face_jpeg,
        preselected=p.preselected, candidates=[_candidate_out(c) for c in p.candidates],
    )  # fmt: skip


def _candidate_out(c: Candidate) -> CandidateOut:
    return CandidateOut(
        performer_id=c.performer_id, name=c.name, disambiguation=c.disambiguation,
        distance=round(c.distance, 4), tier=c.tier,
        stash_ids=[StashId(**i) for i in c.stash_ids], image_url=c.image_url,
        stash_performer_id=c.stash_performer_id, applied=c.applied,
    )  # fmt: skip


def decide(store: LibraryStore, request: DecisionRequest) -> DecisionOut:
    """Record "apply" or "reject" for one candidate; a rejection also keeps the person's face
    cluster, so the same face is not proposed as that performer again (NotFound when the scan
    has no such candidate)."""
    cand = store.candidate(request.scene_id, request.person_id, request.performer_id)
    person = store.person(request.scene_id, request.person_id)
    if cand is None or person is None:
        raise NotFound(
            f"scene {request.scene_id} has no person {request.person_id} with candidate "
            f"{request.performer_id} in the scan's results"
        )
    performer = PerformerRef.from_row(cand["performer_id"], cand["name"], cand["stash_ids"])
    vector = from_blob(person["vector"])
    cluster = (
        PersonVector(person["embedder"], vector)
        if request.kind == "reject" and vector is not None and person["embedder"]
        else None
    )
    decision_id = store.decide(
        request.kind, request.scene_id, request.person_id, performer,
        distance=float(cand["distance"]), tier=cand["tier"], vector=cluster,
        distances=store.candidate_distances(request.scene_id, request.person_id, cand["rank"]),
    )  # fmt: skip
    found = next(d for d in store.decisions(active=False) if d.id == decision_id)
    return _decision_out(found)


def undo_decision(store: LibraryStore, decision_id: int | None = None) -> DecisionOut:
    """Undo one decision (default: the latest in force); NotFound when there is none."""
    undone = store.undo(decision_id)
    if undone is None:
        which = "no decision" if decision_id is None else f"no decision {decision_id}"
        raise NotFound(f"{which} in force to undo")
    return _decision_out(undone)


def list_decisions(store: LibraryStore, kind: str | None = "reject") -> DecisionList:
    """The decisions in force (default: the rejections), oldest first."""
    return DecisionList(decisions=[_decision_out(d) for d in store.decisions(kind)])


def rejection_report(store: LibraryStore) -> RejectionReport:
    return RejectionReport.model_validate(_report(store))


def _decision_out(d: Decision) -> DecisionOut:
    return DecisionOut(
        id=d.id, kind=d.kind, scene_id=d.scene_id, person_id=d.person_id,
        performer_id=d.performer.performer_id, name=d.performer.name,
        stash_ids=[StashId(endpoint=e, stash_id=s) for e, s in d.performer.stash_ids],
        distance=round(d.distance, 4) if d.distance is not None else None, tier=d.tier,
        created_at=round(d.created_at, 3), undone_at=d.undone_at,
    )  # fmt: skip
