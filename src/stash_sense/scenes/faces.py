"""Every face in every sampled frame of a scene, with the vectors clustering needs.

Small frames (sprite thumbnails are 160x90) are enlarged before detection so that YuNet and the
aligner see enough pixels. A face that sits where a face sat in the previous frame and looks the
same pixel for pixel (a static shot) reuses that face's vectors instead of running the network
again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from stash_sense.faces import Embedder, FaceEngine
from stash_sense.faces.quality import assess
from stash_sense.faces.types import AnalyzedFace, Box, FloatArray
from stash_sense.scenes.frames import Frame, Image, upscale_small

#: Frames whose shorter side is below this are enlarged to it before detection.
MIN_DETECTION_SIDE = 360
#: Two faces in consecutive frames are the same picture when their boxes overlap this much ...
SAME_BOX_IOU = 0.8
#: ... and their aligned crops differ by less than this mean absolute pixel value (0-255).
SAME_PIXELS_MAD = 3.0


class SceneCancelled(RuntimeError):
    """The caller asked to stop (the client went away)."""


@dataclass
class SceneFace:
    """One face in one frame; `face.embeddings` fills in as embedders run on it."""

    frame: Frame
    image: Image  # the (possibly enlarged) frame the face's coordinates refer to
    face: AnalyzedFace
    crops: dict[str, Image] = field(default_factory=dict)

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
) -> list[SceneFace]:
    """Detect every face of every frame and run the named embedders on each (reusing repeats)."""
    embedders = {e.name: e for e in engine.embedders}
    chosen = [embedders[n] for n in embedder_names]
    first = chosen[0]
    out: list[SceneFace] = []
    previous: list[SceneFace] = []
    for frame in frames:
        if should_stop is not None and should_stop():
            raise SceneCancelled("stopped")
        image, _ = upscale_small(frame.image, MIN_DETECTION_SIDE)
        current: list[SceneFace] = []
        for det in engine.detect(image):
            crop = first.align(image, det.landmarks)
            quality = assess(image, det, crop if crop.shape[:2] == (112, 112) else None,
                             engine.quality_policy)  # fmt: skip
            sf = SceneFace(frame, image, AnalyzedFace(det, quality), {first.name: crop})
            twin = next((p for p in previous if _same_picture(sf, p, first.name)), None)
            if twin is not None:
                sf.face.embeddings.update(twin.face.embeddings)
            current.append(sf)
        embed_missing(current, chosen)
        out.extend(current)
        previous = current
    return out


def embed_missing(faces: Sequence[SceneFace], embedders: Sequence[Embedder]) -> None:
    """Run each embedder on the faces that have no vector of it yet."""
    for embedder in embedders:
        name = embedder.name
        todo = [f for f in faces if name not in f.face.embeddings]
        if not todo:
            continue
        crops = []
        for f in todo:
            crop = f.crops.get(name)
            if crop is None:
                crop = embedder.align(f.image, f.face.detected.landmarks)
                f.crops[name] = crop
            crops.append(crop)
        vectors: FloatArray = embedder.embed(crops)
        for f, vec in zip(todo, vectors, strict=True):
            f.face.embeddings[name] = np.asarray(vec, dtype=np.float32)
