"""`build()`: read a source, turn its performers' images into faces, write them into a database.

A pass reads the source, then finishes: it reads what changed since the pass began (a full pass)
or since the watermark (an update), reconciles the ids the source lists with those stored
(`live_ids`: performers a page skipped, deleted or merged meanwhile), and retries the images that
failed for now (the ledger, `pending_images`). It is complete only when no such image is left;
the watermark is then the time the finishing began. A pass that is not complete says how many
images wait, and the next run goes on where it stopped.

One thread pages the source (`paging.py`); image downloads and face embedding run in pools
(`images.py`); the pipeline (`pipeline.py`) writes performers strictly in the order they were read,
each batch with the resume state; progress goes to the options' callback (`progress.py`).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import NamedTuple, TypeVar

from stash_sense.builder.images import ImageWorkers
from stash_sense.builder.options import BuildError, BuildOptions, BuildResult
from stash_sense.builder.paging import prefetch
from stash_sense.builder.patience import patiently
from stash_sense.builder.pipeline import Job, Pipeline
from stash_sense.builder.source import make_client
from stash_sense.builder.state import BuildState
from stash_sense.builder.stats import source_stats
from stash_sense.builder.store import PerformerStore
from stash_sense.database import DatabaseWriter, EmbedderInfo, database_models
from stash_sense.faces import FaceEngine
from stash_sense.faces.cores import worker_threads
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
        self.pipeline = Pipeline(
            options, writer, self.store, self.state, self.workers, self._window
        )
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
        self._drive((self.pipeline.start(p) for p in changed), "changes", len(changed))
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
        return self.pipeline.drive(
            self._page_jobs(pages), self.ep.name, lambda: self.pass_total, st.offset
        )

    def _page_jobs(self, pages: Iterator[PerformerPage | int]) -> Iterator[Job]:
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
                    yield self.pipeline.start(performer, offset)

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
        self._drive((self._look_up(sid) for sid in todo), "sweep", len(todo))

    def _look_up(self, stash_id: str) -> Job:
        found = self._patiently(
            f"performer {stash_id}", lambda: self.client.find_performer(stash_id)
        )
        return self.pipeline.start(found or SourcePerformer(id=stash_id, name="?", deleted=True))

    def _retry_pending(self) -> int:
        """Retry the ledger's images in rounds; return how many still wait."""
        for _ in range(self.opt.retry_rounds):
            todo = self.writer.crawl.pending_images(self.ep.name)
            if not todo:
                return 0
            log.info(
                "%s: retrying %d images that failed for now, in %.0fs",
                self.ep.name,
                len(todo),
                self.opt.retry_wait_s,
            )
            time.sleep(self.opt.retry_wait_s)
            self._drive((self.pipeline.retry(url, pid) for url, pid in todo), "retries", len(todo))
        return len(self.writer.crawl.pending_images(self.ep.name))

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
        return patiently(self.ep.name, what, call, self.opt.patience_s, self._stop)

    def _drive(self, jobs: Iterator[Job], stage: str, total: int) -> None:
        self.pipeline.drive(jobs, f"{self.ep.name} {stage}", lambda: total)

    def _window(self) -> int:
        return self.opt.window or max(4 * self.client.page_size, 8 * self.ep.concurrency)


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
            written=builder.pipeline.written,
            complete=builder.state.complete and not builder.pending and not builder._limited(),
            pending=builder.pending,
            stats=stats,
            requests=client.session.requests,
            elapsed_s=time.monotonic() - started,
        )
    finally:
        client.close()
        writer.close()
