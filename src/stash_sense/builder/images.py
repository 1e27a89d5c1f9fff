"""Image work, run in worker pools: download (I/O threads), then detect and embed the faces that
may be the subject (CPU threads; OpenCV releases the GIL); which one is, `subject.settle` decides
with the performer's other images. A semaphore bounds the images held between download and
embedding, so memory stays flat however far the downloads run ahead."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from stash_sense.faces import FaceEngine, ImageError, load_image
from stash_sense.faces.subject import Candidates, find_candidates
from stash_sense.faces.types import AnalyzedFace
from stash_sense.sources.http import FetchError, HttpSession


@dataclass
class ImageOutcome:
    """What one image gave: a face to store, or a skip reason; an analysed image gives its
    candidates, settled into one of the two by `subject.settle`."""

    url: str
    face: AnalyzedFace | None = None
    skip_reason: str | None = None
    detail: str = ""
    candidates: Candidates | None = None


@dataclass
class ImageWorkers:
    """The two pools and their settings; `submit(url)` gives a future of the outcome."""

    session: HttpSession
    engine: FaceEngine
    download_threads: int
    embed_threads: int
    max_image_bytes: int
    keep_images_dir: Path | None = None
    _downloads: ThreadPoolExecutor = field(init=False)
    _embeds: ThreadPoolExecutor = field(init=False)
    _held: threading.BoundedSemaphore = field(init=False)

    def __post_init__(self) -> None:
        self._downloads = ThreadPoolExecutor(self.download_threads, thread_name_prefix="download")
        self._embeds = ThreadPoolExecutor(self.embed_threads, thread_name_prefix="embed")
        self._held = threading.BoundedSemaphore(self.download_threads + 2 * self.embed_threads)
        if self.keep_images_dir is not None:
            self.keep_images_dir.mkdir(parents=True, exist_ok=True)

    def close(self) -> None:
        self._downloads.shutdown(wait=False, cancel_futures=True)
        self._embeds.shutdown(wait=False, cancel_futures=True)

    def submit(self, url: str) -> Future[ImageOutcome]:
        out: Future[ImageOutcome] = Future()
        download = self._downloads.submit(self._download, url)

        def downloaded(f: Future[bytes | ImageOutcome]) -> None:
            if f.cancelled():  # shut down before it ran: nothing was held
                out.cancel()
                return
            try:
                got = f.result()
            except BaseException as exc:  # AuthError and the unexpected: surface in the writer
                self._held.release()
                out.set_exception(exc)
                return
            if isinstance(got, ImageOutcome):
                self._held.release()
                out.set_result(got)
                return
            try:
                embed = self._embeds.submit(self._analyze, url, got)
            except RuntimeError:  # closed while this download finished: dropped, not recorded
                self._held.release()
                out.cancel()
                return
            embed.add_done_callback(_finish(out, self._held.release))

        download.add_done_callback(downloaded)
        return out

    def _download(self, url: str) -> bytes | ImageOutcome:
        self._held.acquire()
        try:
            data = self.session.download_image(url, self.max_image_bytes)
        except FetchError as exc:
            return ImageOutcome(url, skip_reason=exc.reason, detail=str(exc))
        if self.keep_images_dir is not None:
            name = hashlib.sha1(url.encode()).hexdigest()[:20]
            (self.keep_images_dir / f"{name}.img").write_bytes(data)
        return data

    def _analyze(self, url: str, data: bytes) -> ImageOutcome:
        try:
            image = load_image(data)
        except ImageError as exc:
            return ImageOutcome(url, skip_reason="bad_image", detail=str(exc))
        return ImageOutcome(url, candidates=find_candidates(self.engine, image))


def _finish(
    out: Future[ImageOutcome], release: Callable[[], None]
) -> Callable[[Future[ImageOutcome]], None]:
    def done(f: Future[ImageOutcome]) -> None:
        release()
        try:
            out.set_result(f.result())
        except BaseException as exc:
            out.set_exception(exc)

    return done
