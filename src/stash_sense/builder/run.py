"""`build()`: read a source, turn its performers' images into faces, write them into a database.

One thread pages the source (a bounded queue of pages ahead); image downloads and face embedding
run in pools (`images.py`); this thread is the only writer. Performers are written strictly in
the source's stable order, in transactions of at most `batch_size`, each carrying the resume
state; so after a kill -9 the next run starts right after the last committed performer and
nothing is lost or stored twice. A finished full pass records a watermark; later runs fetch only
what changed since (UPDATED_AT, newest first), follow merges and mark deletions.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

from stash_sense.builder.images import ImageOutcome, ImageWorkers
from stash_sense.builder.progress import BuildProgress
from stash_sense.builder.state import BuildState, parse_time
from stash_sense.builder.stats import SourceStats
from stash_sense.database import DatabaseWriter, EmbedderInfo, PerformerRecord
from stash_sense.faces import FaceEngine
from stash_sense.faces.cores import worker_threads
from stash_sense.sources.endpoints import EndpointConfig
from stash_sense.sources.http import AuthError, FetchError, HttpSession
from stash_sense.sources.stashbox import StashBoxClient
from stash_sense.sources.tpdb import TpdbClient
from stash_sense.sources.types import PerformerPage, RemovalEvent, SourcePerformer

log = logging.getLogger("stash_sense.builder")

SKIPPABLE_PAGE_ERRORS = {"malformed", "graphql_error"}


class BuildError(Exception):
    """The build stopped; `str()` is one clear line. Committed progress is kept for resuming."""


class SourceClient(Protocol):
    page_size: int
    session: HttpSession

    def performer_page(
        self, page: int, *, sort: Any = ..., direction: str = ...
    ) -> PerformerPage: ...

    def discover_page_size(self) -> int: ...

    def close(self) -> None: ...


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
    overlap_s: float = 3600.0  # incremental updates look this far behind the watermark
    page_retries: int = 2  # extra tries for a malformed page before it is skipped


@dataclass
class BuildResult:
    generation: Path | None
    mode: str  # "full" | "incremental"
    written: int  # performers written by this run
    complete: bool
    stats: dict[str, Any]
    requests: int
    elapsed_s: float


@dataclass
class _Job:
    """One performer in flight: its images' futures; `performer` None for a skipped page slot."""

    offset: int
    performer: SourcePerformer | None
    futures: list[tuple[str, Future[ImageOutcome]]] = field(default_factory=list)
    capped: int = 0
    skip_reason: str | None = None

    def done(self) -> bool:
        return all(f.done() for _, f in self.futures)

    def pending(self) -> list[Future[ImageOutcome]]:
        return [f for _, f in self.futures if not f.done()]


_END = object()


def default_embed_threads() -> int:
    """One embedding thread a core, at most 4: the face engine lends at most 4 copies of each
    network (each copy costs ~300 MB while it runs), so more threads would only wait."""
    return worker_threads()


def make_client(endpoint: EndpointConfig) -> StashBoxClient | TpdbClient:
    if endpoint.kind == "tpdb":
        return TpdbClient(endpoint)
    return StashBoxClient(endpoint)


def performer_record(p: SourcePerformer, endpoint: EndpointConfig) -> PerformerRecord:
    cap = endpoint.max_images_per_performer
    return PerformerRecord(
        name=p.name,
        disambiguation=p.disambiguation,
        aliases=list(p.aliases),
        gender=p.gender,
        country=p.country,
        birthdate=p.birthdate,
        image_urls=[i.url for i in p.images[:cap]],
        stash_ids=[(endpoint.stash_id_endpoint, p.id), *p.other_stash_ids],
        urls=list(p.urls),
        primary_source=endpoint.name,
        deleted=False,
    )


class Builder:
    """One run of the builder over one endpoint (see the module docstring)."""

    def __init__(
        self,
        options: BuildOptions,
        engine: FaceEngine,
        writer: DatabaseWriter,
        client: StashBoxClient | TpdbClient,
    ) -> None:
        self.opt = options
        self.ep = options.endpoint
        self.engine = engine
        self.writer = writer
        self.client = client
        self.state = BuildState.load(writer, self.ep.name)
        self.stats = self.state.stats or SourceStats()
        self.state.stats = self.stats
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
        self.source_count: int | None = None  # performers the source reports in the pass
        self._stop = threading.Event()

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
            self.workers.close()

    def full_pass(self) -> None:
        st = self.state
        if self.opt.full and (st.offset or st.complete):
            log.info("%s: starting a new full pass (--full)", self.ep.name)
            st.offset, st.last_id, st.complete, st.max_updated = 0, None, False, None
            with self.writer.transaction():
                st.save(self.writer)
        if st.page_size:
            self.client.page_size = min(st.page_size, self.client.page_size)
        else:
            st.page_size = self.client.discover_page_size()
        ps = self.client.page_size
        if st.offset:
            log.info("%s: resuming after %d performers", self.ep.name, st.offset)
        start_page = (st.offset - 1) // ps + 1 if st.offset else 1
        pages = self._prefetch(start_page, "CREATED_AT", "ASC")
        jobs = self._full_jobs(pages, start_page)
        exhausted = self._drive(jobs, ordered_cursor=True)
        limited = self.opt.limit is not None and (
            self.source_count is None or self.source_count > self.opt.limit
        )
        if exhausted and limited:
            log.info("%s: stopped at --limit %d; run again to go on", self.ep.name, self.opt.limit)
        elif exhausted:
            st.complete = True
            st.watermark = _later(st.watermark, st.max_updated)
            with self.writer.transaction():
                st.save(self.writer)
            log.info("%s: full pass complete", self.ep.name)

    def _full_jobs(self, pages: Iterator[PerformerPage | int], start_page: int) -> Iterator[_Job]:
        st, ps, limit = self.state, self.client.page_size, self.opt.limit
        first = True
        self.total: int | None = None
        for item in pages:
            if isinstance(item, int):  # a page that stayed malformed: skip its slots
                page = item
                for i in range(ps):
                    offset = (page - 1) * ps + i
                    if offset >= st.offset and (limit is None or offset < limit):
                        yield _Job(offset, None, skip_reason="malformed_page")
                first = False
                continue
            page_no = item.page
            self.source_count = item.count
            self.total = min(item.count, limit) if limit is not None else item.count
            skip_to = 0
            if first and st.offset:
                ids = [p.id for p in item.performers]
                if st.last_id and st.last_id in ids:
                    skip_to = ids.index(st.last_id) + 1
                else:  # performers before it were deleted upstream: skip those already stored
                    endpoint = self.ep.stash_id_endpoint
                    while skip_to < len(ids) and (
                        self.writer.find_performer(_probe(endpoint, ids[skip_to])) is not None
                    ):
                        skip_to += 1
            first = False
            for i, performer in enumerate(item.performers):
                offset = (page_no - 1) * ps + i
                if i < skip_to:
                    continue
                if limit is not None and offset >= limit:
                    return
                yield self._start(offset, performer)

    def incremental_pass(self) -> None:
        st = self.state
        since = parse_time(st.watermark)
        if since is not None:
            since -= timedelta(seconds=self.opt.overlap_s)
        log.info("%s: updating changes since %s", self.ep.name, st.watermark or "the start")
        self.client.page_size = st.page_size or self.client.discover_page_size()
        pages = self._prefetch(1, "UPDATED_AT", "DESC")

        def changed() -> Iterator[_Job]:
            n = 0
            for item in pages:
                if isinstance(item, int):
                    continue
                for performer in item.performers:
                    updated = parse_time(performer.updated)
                    if since is not None and updated is not None and updated < since:
                        return
                    yield self._start(n, performer)
                    n += 1

        self.total = None
        self._drive(changed(), ordered_cursor=False)
        if isinstance(self.client, StashBoxClient):
            removed = list(self.client.removed_since(since.isoformat() if since else None))
            with self.writer.transaction():
                for event in removed:
                    self._mark_deleted(event)
                st.save(self.writer)
        st.watermark = _later(st.watermark, st.max_updated)
        with self.writer.transaction():
            st.save(self.writer)

    # -- paging thread ------------------------------------------------------------------------

    def _prefetch(
        self, start_page: int, sort: str, direction: str
    ) -> Iterator[PerformerPage | int]:
        """Pages from a background thread, at most two ahead; an int is a page to skip."""
        q: queue.Queue[object] = queue.Queue(maxsize=2)

        def put(item: object) -> bool:
            while not self._stop.is_set():
                try:
                    q.put(item, timeout=0.2)
                    return True
                except queue.Full:
                    continue
            return False

        def produce() -> None:
            page, count = start_page, None
            ps = self.client.page_size
            while not self._stop.is_set():
                if self.opt.limit is not None and (page - 1) * ps >= self.opt.limit:
                    put(_END)
                    return
                try:
                    result: PerformerPage | int = self._fetch_page(page, sort, direction)
                except BaseException as exc:
                    put(exc)
                    return
                if isinstance(result, PerformerPage):
                    count = result.count
                if not put(result):
                    return
                last = isinstance(result, PerformerPage) and not result.performers
                if last or (count is not None and page * ps >= count):
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

    def _fetch_page(self, page: int, sort: str, direction: str) -> PerformerPage | int:
        for attempt in range(self.opt.page_retries + 1):
            try:
                return self.client.performer_page(page, sort=sort, direction=direction)  # type: ignore[arg-type]
            except AuthError:
                raise
            except FetchError as exc:
                if exc.reason not in SKIPPABLE_PAGE_ERRORS:
                    raise BuildError(f"{self.ep.name}: page {page}: {exc}") from None
                log.warning("%s: page %d: %s (try %d)", self.ep.name, page, exc, attempt + 1)
        log.warning("%s: page %d skipped: stays malformed", self.ep.name, page)
        return page

    # -- the pipeline -------------------------------------------------------------------------

    def _start(self, offset: int, performer: SourcePerformer) -> _Job:
        job = _Job(offset, performer)
        cap = self.ep.max_images_per_performer
        job.capped = max(0, len(performer.images) - cap)
        if performer.deleted:
            return job
        for image in performer.images[:cap]:
            if self.writer.has_image(image.url):
                continue
            job.futures.append((image.url, self.workers.submit(image.url)))
        return job

    def _drive(self, jobs: Iterator[_Job], *, ordered_cursor: bool) -> bool:
        """Run jobs through the pools and write them in order; True when the source ran out."""
        window_size = self.opt.window or max(4 * self.client.page_size, 8 * self.ep.concurrency)
        window: deque[_Job] = deque()
        batch: list[_Job] = []
        exhausted = False
        last_commit = time.monotonic()
        with BuildProgress(
            self.ep.name, getattr(self, "total", None), interactive=self.opt.progress
        ) as bar:
            while True:
                while not exhausted and len(window) < window_size:
                    try:
                        window.append(next(jobs))
                    except StopIteration:
                        exhausted = True
                if bar.total is None and getattr(self, "total", None) is not None:
                    bar.set_total(max(0, (self.total or 0) - self.state.offset))
                if not window and not batch:
                    break
                while window and window[0].done():
                    batch.append(window.popleft())
                due = time.monotonic() - last_commit >= self.opt.commit_every_s
                if batch and (len(batch) >= self.opt.batch_size or due or not window):
                    faces = self._commit(batch, ordered_cursor)
                    bar.advance(len(batch), faces)
                    batch = []
                    last_commit = time.monotonic()
                    continue
                if window:
                    wait(window[0].pending(), timeout=0.5, return_when=FIRST_COMPLETED)
        return exhausted

    def _commit(self, batch: list[_Job], ordered_cursor: bool) -> int:
        faces = 0
        with self.writer.transaction():
            for job in batch:
                faces += self._write(job)
                if ordered_cursor:
                    self.state.offset = job.offset + 1
                    if job.performer is not None:
                        self.state.last_id = job.performer.id
            self.state.save(self.writer)
        self.written += len(batch)
        return faces

    def _write(self, job: _Job) -> int:
        """Store one performer and its images' outcomes; return faces stored."""
        stats, w, ep = self.stats, self.writer, self.ep
        p = job.performer
        if p is None:
            stats.skip(job.skip_reason or "skipped")
            return 0
        self.state.see_updated(p.updated)
        endpoint = ep.stash_id_endpoint
        if p.deleted:
            self._mark_deleted(RemovalEvent(p.id, p.updated))
            return 0
        for old in p.merged_ids:
            old_there = w.find_performer(_probe(endpoint, old)) is not None
            new_there = w.find_performer(_probe(endpoint, p.id)) is not None
            w.merge_into(endpoint, old, p.id)
            if old_there:
                stats.merged += 1
                if new_there:
                    stats.performers_seen -= 1
        record = performer_record(p, ep)
        is_new = w.find_performer(record) is None
        pid = w.upsert_performer(record, source=ep.name)
        if is_new:
            stats.performers_seen += 1
        if job.capped:
            stats.skip("over_image_cap", job.capped)
        stored = 0
        for url, future in job.futures:
            outcome = future.result()  # AuthError and the unexpected propagate: a clean stop
            stats.images_seen += 1
            if outcome.face is not None:
                if w.add_face(pid, ep.name, url, outcome.face, 0) is not None:
                    stored += 1
            else:
                reason = outcome.skip_reason or "skipped"
                if outcome.detail:
                    log.debug("%s: %s", ep.name, outcome.detail)
                w.record_skip(ep.name, url, pid, reason)
                stats.skip(reason)
        if stored:
            stats.faces += stored
            earlier = min(len(p.images), ep.max_images_per_performer) - len(job.futures)
            if is_new or earlier == 0:  # no image of theirs was processed before this run
                stats.with_faces += 1
        return stored

    def _mark_deleted(self, event: RemovalEvent) -> None:
        key = f"builder:{self.ep.name}:deleted:{event.stash_id}"
        if self.writer.get_state(key):
            return
        self.writer.mark_deleted(self.ep.stash_id_endpoint, event.stash_id)
        self.writer.set_state(key, event.closed or "1")
        self.stats.deleted += 1


def _probe(endpoint: str, stash_id: str) -> PerformerRecord:
    return PerformerRecord(name="?", stash_ids=[(endpoint, stash_id)])


def _later(a: str | None, b: str | None) -> str | None:
    ta, tb = parse_time(a), parse_time(b)
    if ta is None:
        return b
    if tb is None:
        return a
    return b if tb > ta else a


def build(options: BuildOptions, engine: FaceEngine | None = None) -> BuildResult:
    """Build (or resume, or update) the database at `options.db` from `options.endpoint`."""
    started = time.monotonic()
    engine = engine or FaceEngine.default()
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
        stats = builder.stats.manifest(options.endpoint.stash_id_endpoint, options.endpoint.kind)
        generation = writer.publish(source_stats={options.endpoint.name: stats})
        return BuildResult(
            generation=generation,
            mode=mode,
            written=builder.written,
            complete=builder.state.complete,
            stats=stats,
            requests=client.session.requests,
            elapsed_s=time.monotonic() - started,
        )
    finally:
        client.close()
        writer.close()
