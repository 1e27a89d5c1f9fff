"""`build()`: read a source, turn its performers' images into faces, write them into a database.

A pass reads the source, then finishes: it reads what changed since the pass began (a full pass)
or since the watermark (an update), reconciles the ids the source lists with those stored
(`live_ids`: performers a page skipped, deleted or merged meanwhile), and retries the images that
failed for now (the ledger, `pending_images`). It is complete only when no such image is left;
the watermark is then the time the finishing began. A pass that is not complete says how many
images wait, and the next run goes on where it stopped.

One thread pages the source (`paging.py`); image downloads and face embedding run in pools
(`images.py`); this thread is the only writer (`store.py`). Performers are written strictly in the
order they were read, in transactions of at most `batch_size`, each carrying the resume state; so
after a kill -9 the next run starts right after the last committed performer.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from stash_sense.builder.images import ImageOutcome, ImageWorkers
from stash_sense.builder.paging import prefetch
from stash_sense.builder.progress import BuildProgress
from stash_sense.builder.source import make_client
from stash_sense.builder.state import BuildState
from stash_sense.builder.stats import source_stats
from stash_sense.builder.store import PerformerStore
from stash_sense.builder.subject import settle
from stash_sense.database import DatabaseWriter, EmbedderInfo, database_models
from stash_sense.faces import FaceEngine
from stash_sense.faces.cores import worker_threads
from stash_sense.sources.endpoints import EndpointConfig
from stash_sense.sources.http import AuthError, FetchError
from stash_sense.sources.types import (
    LiveIds,
    PerformerPage,
    SourceClient,
    SourcePerformer,
    parse_time,
)

log = logging.getLogger("stash_sense.builder")

T = TypeVar("T")


class BuildError(Exception):
    """The build stopped; `str()` is one clear line. Committed progress is kept for resuming."""


class BuildIncomplete(BuildError):
    """The source stayed unreachable: the pass stopped with work left for the next run."""


@dataclass
class BuildOptions:
    db: Path
    endpoint: EndpointConfig
    limit: int | None = None  # build at most the source's first N performers (in total)
    keep_images: bool = False
    full: bool = False  # start a new full pass instead of resuming / updating
    batch_size: int = 100
    commit_every_s: float = 2.0
    embed_threads: int | None = None
    window: int | None = None  # performers in flight; default 4 pages' worth
    progress: bool | None = None  # None: a bar on a terminal, log lines otherwise
    overlap_s: float = 3600.0  # changes are read from this far before the pass or watermark
    page_retries: int = 2  # extra tries for a malformed page before the sweep fills it in
    patience_s: float = 300.0  # how long a source may fail (5xx, timeouts) before the run stops
    retry_rounds: int = 2  # rounds of retrying the ledger's images at the end of a pass
    retry_wait_s: float = 20.0  # pause before each round (lets an outage pass)
    give_up_runs: int = 3  # an image failing in this many separate runs is skipped for good


@dataclass
class BuildResult:
    generation: Path | None
    mode: str  # "full" | "incremental"
    written: int  # performers written by this run
    complete: bool  # the pass finished with nothing left to retry
    pending: int  # images that failed for now and wait for the next run
    stats: dict[str, Any]
    requests: int
    elapsed_s: float


@dataclass
class _Job:
    """One performer in flight (or, with `pid`, a stored performer's images retried)."""

    performer: SourcePerformer | None
    pid: int | None = None
    offset: int | None = None  # its position in the full pass
    futures: list[Future[ImageOutcome]] = field(default_factory=list)

    def done(self) -> bool:
        return all(f.done() for f in self.futures)

    def pending(self) -> list[Future[ImageOutcome]]:
        return [f for f in self.futures if not f.done()]


class _FinishingReads(NamedTuple):
    began: datetime  # when they began: the next watermark
    changed: list[SourcePerformer]
    live: LiveIds


def default_embed_threads() -> int:
    """One embedding thread a core, at most 4: the face engine lends at most 4 copies of each
    network (each copy costs ~300 MB while it runs), so more threads would only wait."""
    return worker_threads()


def _now() -> datetime:
    return datetime.now(UTC)


class Builder:
    """One run of the builder over one endpoint (see the module docstring)."""

    def __init__(
        self,
        options: BuildOptions,
        engine: FaceEngine,
        writer: DatabaseWriter,
        client: SourceClient,
    ) -> None:
        self.opt = options
        self.ep = options.endpoint
        self.writer = writer
        self.client = client
        self.state = BuildState.load(writer, self.ep.name)
        self.store = PerformerStore(writer, self.ep, uuid.uuid4().hex, options.give_up_runs)
        keep = options.db / "images" / self.ep.name if options.keep_images else None
        self.workers = ImageWorkers(
            session=client.session,
            engine=engine,
            download_threads=self.ep.concurrency,
            embed_threads=options.embed_threads or default_embed_threads(),
            max_image_bytes=self.ep.max_image_bytes,
            keep_images_dir=keep,
        )
        self.written = 0
        self.pending = 0
        self.pass_total: int | None = None  # the full pass's performers (from its first page)
        self._stop = threading.Event()
        # the finishing reads (changes, ids) start as soon as the last page is read, while the
        # last images still embed: the source sees no idle gap at the end of a pass
        self._reads = ThreadPoolExecutor(1, thread_name_prefix="finishing")
        self._finishing: Future[_FinishingReads] | None = None

    # -- the passes ---------------------------------------------------------------------------

    def run(self) -> str:
        try:
            if self.opt.full or not self.state.complete:
                self.full_pass()
                return "full"
            self.incremental_pass()
            return "incremental"
        finally:
            self._stop.set()
            self._reads.shutdown(wait=False, cancel_futures=True)
            self.workers.close()

    def full_pass(self) -> None:
        st = self.state
        if self.opt.full and (st.offset or st.complete):
            log.info("%s: starting a new full pass (--full)", self.ep.name)
            st.offset, st.last_id, st.complete, st.pass_started = 0, None, False, None
        if st.pass_started is None:
            st.pass_started = _now().isoformat()
            self._save_state()
        self._choose_page_size()
        if st.offset:
            log.info("%s: resuming after %d performers", self.ep.name, st.offset)
        since = parse_time(st.pass_started)
        if not self._page_through(lambda: self._read_ahead(since)) or self._limited():
            log.info("%s: stopped at --limit %s; run again to go on", self.ep.name, self.opt.limit)
            return
        if self._finish(since):
            st.complete = True
            log.info("%s: full pass complete", self.ep.name)

    def incremental_pass(self) -> None:
        log.info("%s: updating changes since %s", self.ep.name, self.state.watermark)
        self._choose_page_size()
        self._finish(parse_time(self.state.watermark))

    def _read_ahead(self, since: datetime | None) -> None:
        """Start the finishing reads (the changes since `since`, the ids listed) in the
        background, once."""
        if self._finishing is None and not self._limited():
            self._finishing = self._reads.submit(self._finishing_reads, since)

    def _finishing_reads(self, since: datetime | None) -> _FinishingReads:
        began = _now()
        if since is not None:
            since -= timedelta(seconds=self.opt.overlap_s)
        changed = self._patiently("changes", lambda: list(self.client.changed_since(since)))
        log.info("%s: %d performers changed since %s", self.ep.name, len(changed), since)
        live = self._patiently("performer ids", self.client.live_ids)
        return _FinishingReads(began, changed, live)

    def _finish(self, since: datetime | None) -> bool:
        """Changes since `since`, the id sweep, the retries; True (and a new watermark) when
        nothing is left to retry."""
        self._read_ahead(since)
        assert self._finishing is not None
        began, changed, live = self._finishing.result()
        self._drive((self._start(p) for p in changed), f"{self.ep.name} changes", len(changed))
        self._sweep(live)
        self.pending = self._retry_pending()
        if self.pending:
            log.warning(
                "%s: %d images failed for now (server errors, timeouts); the pass is not "
                "complete: run the same command again later",
                self.ep.name,
                self.pending,
            )
            return False
        self.state.watermark = began.isoformat()
        self.state.complete = True
        self._save_state()
        return True

    def _limited(self) -> bool:
        limit = self.opt.limit
        return limit is not None and (self.pass_total is None or self.pass_total >= limit)

    def _save_state(self) -> None:
        with self.writer.transaction():
            self.state.save(self.writer)

    def _choose_page_size(self) -> None:
        st = self.state
        if st.page_size:
            self.client.page_size = min(st.page_size, self.client.page_size)
        else:
            st.page_size = self._patiently("first page", self.client.discover_page_size)

    # -- the steps ----------------------------------------------------------------------------

    def _page_through(self, on_end: Callable[[], None]) -> bool:
        """The full pass's pages from the resume position; True when the source ran out.
        `on_end` runs when the last page has been read."""
        st, ps = self.state, self.client.page_size
        start_page = (st.offset - 1) // ps + 1 if st.offset else 1
        pages = prefetch(self._fetch_page, start_page, ps, self._stop, self.opt.limit, on_end)
        return self._drive(self._page_jobs(pages), self.ep.name, None, st.offset)

    def _page_jobs(self, pages: Iterator[PerformerPage | int]) -> Iterator[_Job]:
        st, ps, limit = self.state, self.client.page_size, self.opt.limit
        first = True
        for item in pages:
            if isinstance(item, int):  # a page that stayed malformed: the sweep fills it in
                first = False
                continue
            self.pass_total = min(item.count, limit) if limit is not None else item.count
            skip_to = self._realign(item) if first and st.offset else 0
            first = False
            for i, performer in enumerate(item.performers):
                offset = (item.page - 1) * ps + i
                if limit is not None and offset >= limit:
                    return
                if i >= skip_to:
                    yield self._start(performer, offset)

    def _realign(self, page: PerformerPage) -> int:
        """Where to start in the first page of a resumed pass: after the last one written, or
        (when it is gone upstream) after those already stored."""
        ids = [p.id for p in page.performers]
        if self.state.last_id in ids:
            return ids.index(self.state.last_id) + 1
        skip_to = 0
        while skip_to < len(ids) and self.store.stored(ids[skip_to]) is not None:
            skip_to += 1
        return skip_to

    def _sweep(self, live: LiveIds) -> None:
        """Reconcile the ids the source lists with those stored: fetch the missing ones, ask
        about those no longer listed (deleted, merged, or skipped by the listing)."""
        stored = self.writer.stored_stash_ids(self.ep.stash_id_endpoint)
        missing, gone = sorted(live.ids - stored), sorted(stored - live.ids)
        log.info(
            "%s: the source lists %d performers (count %d%s); %d not stored, %d no longer listed",
            self.ep.name,
            len(live.ids),
            live.count,
            "" if live.consistent else ", listings disagreed",
            len(missing),
            len(gone),
        )
        todo = missing + gone
        self._drive((self._look_up(sid) for sid in todo), f"{self.ep.name} sweep", len(todo))

    def _look_up(self, stash_id: str) -> _Job:
        found = self._patiently(
            f"performer {stash_id}", lambda: self.client.find_performer(stash_id)
        )
        return self._start(found or SourcePerformer(id=stash_id, name="?", deleted=True))

    def _retry_pending(self) -> int:
        """Retry the ledger's images in rounds; return how many still wait."""
        for _ in range(self.opt.retry_rounds):
            todo = self.writer.pending_images(self.ep.name)
            if not todo:
                return 0
            log.info(
                "%s: retrying %d images that failed for now, in %.0fs",
                self.ep.name,
                len(todo),
                self.opt.retry_wait_s,
            )
            time.sleep(self.opt.retry_wait_s)
            jobs = (_Job(None, pid, None, [self.workers.submit(url)]) for url, pid in todo)
            self._drive(jobs, f"{self.ep.name} retries", len(todo))
        return len(self.writer.pending_images(self.ep.name))

    def _fetch_page(self, page: int) -> PerformerPage | int:
        tries = 0

        def fetch() -> PerformerPage | int:
            nonlocal tries
            tries += 1
            try:
                return self.client.performer_page(page)
            except FetchError as exc:
                if exc.reason == "malformed" and tries > self.opt.page_retries:
                    log.warning(
                        "%s: page %d stays malformed: left to the sweep", self.ep.name, page
                    )
                    return page
                raise

        return self._patiently(f"page {page}", fetch)

    def _patiently(self, what: str, call: Callable[[], T]) -> T:
        """`call()`, tried again while it fails for now, for at most `patience_s`."""
        deadline = time.monotonic() + self.opt.patience_s
        attempt = 0
        while True:
            try:
                return call()
            except FetchError as exc:
                if not exc.transient:
                    raise BuildError(f"{self.ep.name}: {what}: {exc}") from None
                if time.monotonic() >= deadline or self._stop.is_set():
                    raise BuildIncomplete(
                        f"{self.ep.name}: {what}: {exc}; still failing after "
                        f"{self.opt.patience_s:.0f}s: progress is saved, run the same command "
                        "again later"
                    ) from None
                delay = min(30.0, 2.0**attempt, max(0.1, deadline - time.monotonic()))
                log.warning("%s: %s: %s; trying again in %.0fs", self.ep.name, what, exc, delay)
                time.sleep(delay)
                attempt += 1

    # -- the pipeline -------------------------------------------------------------------------

    def _start(self, performer: SourcePerformer, offset: int | None = None) -> _Job:
        job = _Job(performer, offset=offset)
        if performer.deleted:
            return job
        for image in performer.images[: self.ep.max_images_per_performer]:
            if not self.writer.has_image(image.url):
                job.futures.append(self.workers.submit(image.url))
        return job

    def _drive(
        self, jobs: Iterable[_Job], label: str, total: int | None, done_before: int = 0
    ) -> bool:
        """Run jobs through the pools and write them in order; True when `jobs` ran out. The bar
        counts towards `total` (None: the full pass's, known after its first page)."""
        jobs = iter(jobs)
        window_size = self.opt.window or max(4 * self.client.page_size, 8 * self.ep.concurrency)
        window: deque[_Job] = deque()
        batch: list[_Job] = []
        exhausted = False
        last_commit = time.monotonic()
        with BuildProgress(label, None, interactive=self.opt.progress) as bar:
            while True:
                while not exhausted and len(window) < window_size:
                    try:
                        window.append(next(jobs))
                    except StopIteration:
                        exhausted = True
                known = total if total is not None else self.pass_total
                if bar.total is None and known is not None:
                    bar.set_total(max(0, known - done_before))
                if not window and not batch:
                    break
                while window and window[0].done():
                    batch.append(window.popleft())
                due = time.monotonic() - last_commit >= self.opt.commit_every_s
                if batch and (len(batch) >= self.opt.batch_size or due or not window):
                    bar.advance(len(batch), self._commit(batch))
                    batch = []
                    last_commit = time.monotonic()
                    continue
                if window:
                    wait(window[0].pending(), timeout=0.5, return_when=FIRST_COMPLETED)
        return exhausted

    def _commit(self, batch: list[_Job]) -> int:
        """Write a batch and the resume state in one transaction; return the faces stored."""
        faces = 0
        with self.writer.transaction():
            for job in batch:
                faces += self._write(job)
                if job.offset is not None and job.performer is not None:
                    self.state.offset = job.offset + 1
                    self.state.last_id = job.performer.id
            self.state.save(self.writer)
        self.written += sum(job.performer is not None for job in batch)
        return faces

    def _write(self, job: _Job) -> int:
        """Store one job: the performer (or its removal), its merges, its images' outcomes."""
        p, pid = job.performer, job.pid
        if p is not None and p.deleted:
            self.store.remove(p)
            return 0
        if p is not None:
            pid = self.store.upsert(p)
            self.store.follow_merges(p, pid)
        assert pid is not None
        # AuthError and the unexpected propagate from result(): a clean stop
        outcomes = settle([f.result() for f in job.futures])
        return sum(self.store.outcome(pid, o) for o in outcomes)


def build(options: BuildOptions, engine: FaceEngine | None = None) -> BuildResult:
    """Build (or resume, or update) the database at `options.db` from `options.endpoint`."""
    started = time.monotonic()
    # a database made with other embedders this version has keeps them (FaceEngine.for_database)
    engine = engine or FaceEngine.for_database(database_models(options.db))
    engine.load()
    log.info("building from %s", options.endpoint.describe())
    embedders = [EmbedderInfo.from_embedder(e) for e in engine.embedders]
    writer = DatabaseWriter.open(options.db, embedders=embedders)
    client = make_client(options.endpoint)
    try:
        builder = Builder(options, engine, writer, client)
        try:
            mode = builder.run()
        except AuthError as exc:
            raise BuildError(str(exc)) from None
        except FetchError as exc:
            raise BuildError(f"{options.endpoint.name}: {exc}") from None
        stats = source_stats(writer, options.endpoint)
        generation = writer.publish(source_stats={options.endpoint.name: stats})
        return BuildResult(
            generation=generation,
            mode=mode,
            written=builder.written,
            complete=builder.state.complete and not builder.pending and not builder._limited(),
            pending=builder.pending,
            stats=stats,
            requests=client.session.requests,
            elapsed_s=time.monotonic() - started,
        )
    finally:
        client.close()
        writer.close()
