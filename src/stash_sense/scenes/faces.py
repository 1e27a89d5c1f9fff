"""Every face in every sampled frame of a scene, with the vectors clustering needs.

Small frames (sprite thumbnails are 160x90) are enlarged before detection so that YuNet and the
aligner see enough pixels. A face that sits where a face sat in the previous frame and looks the
same pixel for pixel (a static shot) reuses that face's vectors instead of running the network
again.

Frames are independent until the repeat check, so detection and alignment run on a few threads
at once (OpenCV releases the GIL); the embedders then run over every new face in a few large
batches, also in parallel. Those threads are kept from one scene to the next (`scene_pool`): the
detector is one YuNet instance per thread, and a new thread's costs 40-60 ms of CPU to create
and run once, four of them a scene when each scene had its own threads.

Detection here skips the landmark refinement of small faces (a second YuNet call per face): the
faces are only clustered on those vectors. The few faces that go on to the matcher, each person's
best, are refined and embedded again by `prepare_for_matching`. Every step is the FaceEngine's
(detect, refine, align, embed_aligned); this module only schedules them over a scene's frames.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from stash_sense.faces import FaceEngine
from stash_sense.faces.cores import worker_threads
from stash_sense.faces.engine import AlignedFace
from stash_sense.faces.types import AnalyzedFace, Box
from stash_sense.scenes.frames import Frame, Image, upscale_small

#: Frames whose shorter side is below this are enlarged to it before detection (Stash's 160 x 90
#: thumbnails 3 times: on bench_scene's 10 sprites, 0.60 CPU s a scene of detection instead of
#: 1.08 at 360; faces found 1,055 instead of 1,085, thumbnails with a face the same 606; sprite
#: recall 10/23 instead of 9/23, auto 23/23 both ways).
MIN_DETECTION_SIDE = 270
#: YuNet sees a scene's frames at most this long (1280 x 720 frames at 800 x 450, one pass
#: instead of a 1280 one and a coarse 640 one: 2.7 times less detection CPU, the same faces found
#: on the benchmark scenes; the smallest face found in a 1280-wide frame grows from 16 to 26 px,
#: too small to identify either way). Faces that will be matched are refined at that scale.
SCENE_DETECTION_SIDE = 800
#: Two faces in consecutive frames are the same picture when their boxes overlap this much ...
SAME_BOX_IOU = 0.8
#: ... and their aligned crops differ by less than this mean absolute pixel value (0-255).
SAME_PIXELS_MAD = 3.0


_pools: dict[int, ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


def scene_pool(threads: int | None = None) -> ThreadPoolExecutor:
    """The process's threads for scene face work (`threads`, default worker_threads()), kept
    for the next scene so their detectors are too. Its tasks never wait on one another, so
    scenes identified at once may share it."""
    workers = threads or worker_threads()
    with _pools_lock:
        if workers not in _pools:
            _pools[workers] = ThreadPoolExecutor(workers, thread_name_prefix="scene-faces")
        return _pools[workers]


class SceneCancelled(RuntimeError):
    """The caller asked to stop (the client went away)."""


@dataclass
class SceneFace:
    """One face in one frame; `face.embeddings` fills in as embedders run on it."""

    frame: Frame
    aligned: AlignedFace  # its image is the (possibly enlarged) frame the face's coordinates use
    #: the same picture one frame earlier (a static shot): this face takes its vectors
    crops_from: SceneFace | None = None

    @property
    def image(self) -> Image:
        return self.aligned.image

    @property
    def face(self) -> AnalyzedFace:
        return self.aligned.face

    @property
    def crops(self) -> dict[str, Image]:
        return self.aligned.crops

    @property
    def rank(self) -> float:
        """How good a picture of the person this face is (higher is better)."""
        q = self.face.quality
        return (1.0 if q.usable else 0.0) + q.detection_score * min(q.size, 112.0) / 112.0


def _iou(a: Box, b: Box) -> float:
    x0, y0 = max(a.x, b.x), max(a.y, b.y)
    x1, y1 = min(a.x + a.w, b.x + b.w), min(a.y + a.h, b.y + b.h)
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    union = a.area + b.area - inter
    return inter / union if union > 0 else 0.0


def _same_picture(a: SceneFace, b: SceneFace, crop_name: str) -> bool:
    if _iou(a.face.box, b.face.box) < SAME_BOX_IOU:
        return False
    ca, cb = a.crops.get(crop_name), b.crops.get(crop_name)
    if ca is None or cb is None or ca.shape != cb.shape:
        return False
    mad = float(np.mean(np.abs(ca.astype(np.int16) - cb.astype(np.int16))))
    return mad < SAME_PIXELS_MAD


def detect_scene_faces(
    engine: FaceEngine,
    frames: Sequence[Frame],
    embedder_names: Sequence[str],
    *,
    should_stop: Callable[[], bool] | None = None,
    threads: int | None = None,
) -> list[SceneFace]:
    """Detect every face of every frame and run the named embedders on each (reusing repeats)."""
    first = embedder_names[0]

    def faces_of(frame: Frame) -> list[SceneFace]:
        if should_stop is not None and should_stop():
            raise SceneCancelled("stopped")
        image, _ = upscale_small(frame.image, MIN_DETECTION_SIDE)
        detected = engine.detect(image, refine=False, max_side=SCENE_DETECTION_SIDE)
        return [SceneFace(frame, a) for a in engine.align(image, detected, first)]

    pool = scene_pool(threads)
    out: list[SceneFace] = []
    previous: list[SceneFace] = []
    for current in pool.map(faces_of, frames):  # in frame order
        for sf in current:
            twin = next((p for p in previous if _same_picture(sf, p, first)), None)
            if twin is not None:
                sf.crops_from = twin
        out.extend(current)
        previous = current
    new = [f.aligned for f in out if f.crops_from is None]
    engine.embed_aligned(new, embedder_names, pool=pool)
    for sf in out:
        if sf.crops_from is not None:
            sf.face.embeddings.update(sf.crops_from.face.embeddings)
    return out


def original(face: SceneFace) -> SceneFace:
    """The first frame's face of a static shot that `face` repeats (`face` itself if none)."""
    while face.crops_from is not None:
        face = face.crops_from
    return face


def prepare_for_matching(
    engine: FaceEngine,
    faces: Sequence[SceneFace],
    embedder_names: Sequence[str],
    threads: int | None = None,
) -> None:
    """Refine the faces' landmarks, then give them fresh crops, quality and every vector."""
    first = embedder_names[0]

    def refine(f: SceneFace) -> None:
        refined = engine.refine(f.image, f.face.detected, max_side=SCENE_DETECTION_SIDE)
        if refined is not f.face.detected:
            f.aligned = engine.align(f.image, [refined], first)[0]

    pool = scene_pool(threads)
    list(pool.map(refine, faces))
    engine.embed_aligned([f.aligned for f in faces], embedder_names, pool=pool)
