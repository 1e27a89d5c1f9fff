"""Every face in every sampled frame of a scene, with the vectors clustering needs.

Small frames (sprite thumbnails are 160x90) are enlarged before detection so that YuNet and the
aligner see enough pixels. A face that sits where a face sat in the previous frame and looks the
same pixel for pixel (a static shot) reuses that face's vectors instead of running the network
again.

Frames are independent until the repeat check, so detection and alignment run on a few threads
at once (OpenCV releases the GIL); the embedders then run over every new face in a few large
batches, also in parallel.

Detection here skips the landmark refinement of small faces (a second YuNet call per face): the
faces are only clustered on those vectors. The few faces that go on to the matcher, each person's
best, are refined and embedded again by `prepare_for_matching`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from stash_sense.faces import Embedder, FaceEngine
from stash_sense.faces.cores import worker_threads
from stash_sense.faces.quality import assess
from stash_sense.faces.types import AnalyzedFace, Box, DetectedFace, FloatArray
from stash_sense.scenes.frames import Frame, Image, upscale_small

#: Frames whose shorter side is below this are enlarged to it before detection.
MIN_DETECTION_SIDE = 360
#: Two faces in consecutive frames are the same picture when their boxes overlap this much ...
SAME_BOX_IOU = 0.8
#: ... and their aligned crops differ by less than this mean absolute pixel value (0-255).
SAME_PIXELS_MAD = 3.0
#: Faces per embedder call when embedding a scene's faces.
EMBED_BATCH = 32


class SceneCancelled(RuntimeError):
    """The caller asked to stop (the client went away)."""


@dataclass
class SceneFace:
    """One face in one frame; `face.embeddings` fills in as embedders run on it."""

    frame: Frame
    image: Image  # the (possibly enlarged) frame the face's coordinates refer to
    face: AnalyzedFace
    crops: dict[str, Image] = field(default_factory=dict)
    #: the same picture one frame earlier (a static shot): this face takes its vectors
    crops_from: SceneFace | None = None

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


def _analysed(
    engine: FaceEngine, first: Embedder, image: Image, detected: DetectedFace
) -> tuple[AnalyzedFace, Image]:
    """The face with its quality (judged on the first embedder's crop when that is 112 px, the
    size quality expects) and that crop, which also serves the first embedder."""
    crop = first.align(image, detected.landmarks)
    aligned112 = crop if crop.shape[:2] == (112, 112) else None
    return AnalyzedFace(detected, assess(image, detected, aligned112, engine.quality_policy)), crop


def detect_scene_faces(
    engine: FaceEngine,
    frames: Sequence[Frame],
    embedder_names: Sequence[str],
    *,
    should_stop: Callable[[], bool] | None = None,
    threads: int | None = None,
) -> list[SceneFace]:
    """Detect every face of every frame and run the named embedders on each (reusing repeats)."""
    embedders = {e.name: e for e in engine.embedders}
    chosen = [embedders[n] for n in embedder_names]
    first = chosen[0]

    def faces_of(frame: Frame) -> list[SceneFace]:
        if should_stop is not None and should_stop():
            raise SceneCancelled("stopped")
        image, _ = upscale_small(frame.image, MIN_DETECTION_SIDE)
        found: list[SceneFace] = []
        for det in engine.detect(image, refine=False):
            face, crop = _analysed(engine, first, image, det)
            found.append(SceneFace(frame, image, face, {first.name: crop}))
        return found

    workers = threads or worker_threads()
    out: list[SceneFace] = []
    with ThreadPoolExecutor(workers, thread_name_prefix="scene-faces") as pool:
        previous: list[SceneFace] = []
        for current in pool.map(faces_of, frames):  # in frame order
            for sf in current:
                twin = next((p for p in previous if _same_picture(sf, p, first.name)), None)
                if twin is not None:
                    sf.crops_from = twin
            out.extend(current)
            previous = current
        embed_missing([f for f in out if f.crops_from is None], chosen, pool)
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
    embedders: Sequence[Embedder],
    threads: int | None = None,
) -> None:
    """Refine the faces' landmarks, then give them fresh crops, quality and every vector."""
    first = embedders[0]

    def refine(f: SceneFace) -> None:
        refined = engine.refine(f.image, f.face.detected)
        if refined is f.face.detected:
            return
        f.face, crop = _analysed(engine, first, f.image, refined)
        f.crops = {first.name: crop}

    with ThreadPoolExecutor(threads or worker_threads(), thread_name_prefix="scene-faces") as pool:
        list(pool.map(refine, faces))
        embed_missing(faces, embedders, pool)


def embed_missing(
    faces: Sequence[SceneFace],
    embedders: Sequence[Embedder],
    pool: ThreadPoolExecutor | None = None,
) -> None:
    """Run each embedder on the faces that have no vector of it yet (batches across `pool`)."""
    for embedder in embedders:
        name = embedder.name
        todo = [f for f in faces if name not in f.face.embeddings]
        if not todo:
            continue
        batches = [todo[i : i + EMBED_BATCH] for i in range(0, len(todo), EMBED_BATCH)]
        if pool is None or len(batches) == 1:
            for batch in batches:
                _embed_batch(batch, embedder)
        else:
            for done in [pool.submit(_embed_batch, b, embedder) for b in batches]:
                done.result()


def _embed_batch(faces: Sequence[SceneFace], embedder: Embedder) -> None:
    crops = []
    for f in faces:
        crop = f.crops.get(embedder.name)
        if crop is None:
            crop = embedder.align(f.image, f.face.detected.landmarks)
            f.crops[embedder.name] = crop
        crops.append(crop)
    vectors: FloatArray = embedder.embed(crops)
    for f, vec in zip(faces, vectors, strict=True):
        f.face.embeddings[embedder.name] = np.asarray(vec, dtype=np.float32)
