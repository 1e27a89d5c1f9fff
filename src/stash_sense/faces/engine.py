"""FaceEngine: detect, align, embed and judge every face of an image with one call.

The steps are also open one by one for callers that schedule them themselves (a scene: detect
every frame without refinement, embed with SFace first in batches across frames, refine and
complete only each person's best faces): `detect`, `refine`, `align`, `embed_aligned`.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from typing import ClassVar

import cv2
import numpy as np

from stash_sense.faces.alignment import align
from stash_sense.faces.cores import worker_threads
from stash_sense.faces.detection import DetectorSettings, YuNetDetector
from stash_sense.faces.embedders import EMBEDDERS, Embedder, make_embedder
from stash_sense.faces.quality import QualityPolicy, assess
from stash_sense.faces.types import AnalyzedFace, DetectedFace, ImageArray
from stash_sense.models import resolve_model_path

#: The default ensemble, chosen by measurement held out by identity (docs/matching.md,
#: bench/bench_accuracy.py): SFace first, dlib's ResNet for the faces SFace alone cannot settle.
DEFAULT_EMBEDDERS: tuple[str, ...] = ("sface", "dlib")
DEFAULT_FLIP = False
#: Faces per embedder call when `embed_aligned` batches many faces.
EMBED_BATCH = 32
#: The key of the 112-pixel crop that every embedder taking 112 pixels as they are shares.
SHARED_CROP = "aligned112"
#: The full-size detector (`detect(full_size=True)`): no size cap, no landmark refinement.
FULL_SIZE = DetectorSettings(max_side=16384, refine_below=0.0)


@dataclass
class AlignedFace:
    """A face on its way through the engine: the image it is in, what is known of it so far,
    and the aligned crops made for it (by embedder name), kept so each is made once."""

    image: ImageArray
    face: AnalyzedFace
    crops: dict[str, ImageArray] = field(default_factory=dict)


class FaceEngine:
    """YuNet detection plus an ensemble of embedders.

    Models load lazily, once, under a lock (two threads may ask for the first face together);
    every public method is thread-safe. `workers`: the cores the engine may keep busy (default:
    faces.cores.worker_threads()); every network runs in OpenCV, in the callers' threads, except
    dlib's ResNet where its conversion failed: dlib holds the GIL, so it gets that many lanes
    (this process and worker processes started when first needed, faces/lanes.py). `close()`
    (or leaving a `with` block) stops the worker processes.
    """

    _default: ClassVar[FaceEngine | None] = None
    _default_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(
        self,
        embedders: Sequence[Embedder],
        *,
        detector_settings: DetectorSettings | None = None,
        quality_policy: QualityPolicy | None = None,
        workers: int | None = None,
    ) -> None:
        if not embedders:
            raise ValueError("a FaceEngine needs at least one embedder")
        names = [e.name for e in embedders]
        if len(set(names)) != len(names):
            raise ValueError(f"embedder names must be unique: {names}")
        self._embedders = list(embedders)
        self._detector_settings = detector_settings or DetectorSettings()
        self.quality_policy = quality_policy or QualityPolicy()
        self._detector: YuNetDetector | None = None
        self._full_size: YuNetDetector | None = None
        self._by_side: dict[int, YuNetDetector] = {}
        self._lock = threading.Lock()
        self.workers = max(1, workers if workers is not None else worker_threads())
        for embedder in self._embedders:
            embedder.set_workers(self.workers)

    def close(self) -> None:
        """Stop the worker processes the embedders started (the engine still works afterwards:
        they start again when needed)."""
        for embedder in self._embedders:
            embedder.close()

    def __enter__(self) -> FaceEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @classmethod
    def create(
        cls,
        embedder_names: Sequence[str] = DEFAULT_EMBEDDERS,
        *,
        flip: bool = DEFAULT_FLIP,
        detector_settings: DetectorSettings | None = None,
        quality_policy: QualityPolicy | None = None,
        workers: int | None = None,
    ) -> FaceEngine:
        """A new engine with the named embedders (see stash_sense.faces.embedders.EMBEDDERS)."""
        return cls(
            [make_embedder(name, flip=flip) for name in embedder_names],
            detector_settings=detector_settings,
            quality_policy=quality_policy,
            workers=workers,
        )

    @classmethod
    def for_database(cls, models: Sequence[str]) -> FaceEngine:
        """The engine for a database made with these embedders: exactly those when every one is
        an embedder this version has (a database made before the default ensemble changed keeps
        the ensemble its tiers were calibrated on), otherwise the default."""
        known = [n for n in models if n in EMBEDDERS]
        if models and len(known) == len(models) and set(models) != set(DEFAULT_EMBEDDERS):
            return cls.create(embedder_names=known)
        return cls.default()

    @classmethod
    def default(cls) -> FaceEngine:
        """The process-wide engine with the default ensemble (models verified when first used)."""
        with cls._default_lock:
            if cls._default is None:
                cls._default = cls.create()
            return cls._default

    # -- identity ---------------------------------------------------------------------------
    @property
    def embedder_names(self) -> list[str]:
        return [e.name for e in self._embedders]

    @property
    def embedders(self) -> list[Embedder]:
        return list(self._embedders)

    def load(self) -> FaceEngine:
        """Resolve and verify every model now instead of on first use."""
        self._get_detector()
        for embedder in self._embedders:
            embedder.model_path()
        return self

    # -- pipeline ---------------------------------------------------------------------------
    def _get_detector(self, full_size: bool = False, max_side: int | None = None) -> YuNetDetector:
        with self._lock:
            if max_side is not None and not full_size:
                if max_side not in self._by_side:
                    settings = replace(self._detector_settings, max_side=max_side)
                    self._by_side[max_side] = YuNetDetector(resolve_model_path("yunet"), settings)
                return self._by_side[max_side]
            if full_size:
                if self._full_size is None:
                    self._full_size = YuNetDetector(resolve_model_path("yunet"), FULL_SIZE)
                return self._full_size
            if self._detector is None:
                self._detector = YuNetDetector(resolve_model_path("yunet"), self._detector_settings)
            return self._detector

    def detect(
        self,
        image: ImageArray,
        *,
        refine: bool = True,
        full_size: bool = False,
        max_side: int | None = None,
    ) -> list[DetectedFace]:
        """Every face in a BGR image, largest first (`refine`: see YuNetDetector.detect).

        `full_size`: detect on the image as it is, however large (no downscaling, no landmark
        refinement): for "is anyone there" over a large mosaic such as a sprite sheet.
        `max_side`: shrink the image to at most this longest side for YuNet instead of the
        settings' (a scene's many frames; boxes and landmarks still in the image's pixels).
        """
        detector = self._get_detector(full_size, max_side)
        return detector.detect(_check_image(image), refine=refine)

    def refine(
        self, image: ImageArray, face: DetectedFace, *, max_side: int | None = None
    ) -> DetectedFace:
        """A face found with `refine=False`, with the landmarks `detect` (with the same
        `max_side`) would have given it."""
        return self._get_detector(max_side=max_side).refine(_check_image(image), face)

    def align(
        self, image: ImageArray, detected: Sequence[DetectedFace], first: str | None = None
    ) -> list[AlignedFace]:
        """Each face with its quality and one aligned crop: `first`'s (default: the 112-pixel
        crop most embedders share). Quality is judged on that crop when it is 112 pixels."""
        image = _check_image(image)
        out: list[AlignedFace] = []
        for face in detected:
            if first is None:
                name, crop = SHARED_CROP, align(image, face.landmarks, 112)
            else:
                name, crop = first, self._embedder(first).align(image, face.landmarks, face.box)
            crop112 = crop if crop.shape[:2] == (112, 112) else None
            quality = assess(image, face, crop112, self.quality_policy)
            crops = {name: crop}
            out.append(AlignedFace(image, AnalyzedFace(face, quality), crops))
        return out

    def embed_aligned(
        self,
        faces: Sequence[AlignedFace],
        names: Sequence[str] | None = None,
        *,
        pool: Executor | None = None,
    ) -> None:
        """Give each face the vectors of the named (default: every) embedders it lacks, in
        batches of EMBED_BATCH (spread over `pool` when given); crops are made once and kept."""
        for embedder in self._named(names):
            todo = [f for f in faces if embedder.name not in f.face.embeddings]
            batches = [todo[i : i + EMBED_BATCH] for i in range(0, len(todo), EMBED_BATCH)]
            if pool is None or len(batches) < 2:
                for batch in batches:
                    _embed_batch(batch, embedder)
            else:
                for done in [pool.submit(_embed_batch, b, embedder) for b in batches]:
                    done.result()

    def embed(
        self,
        image: ImageArray,
        detected: Sequence[DetectedFace],
        names: Sequence[str] | None = None,
    ) -> list[AnalyzedFace]:
        """Quality and every embedder's vector (or only the named ones') for each detected face."""
        aligned = self.align(image, detected)
        self.embed_aligned(aligned, names)
        return [a.face for a in aligned]

    def complete(
        self, image: ImageArray, faces: Sequence[AnalyzedFace], names: Sequence[str] | None = None
    ) -> list[AnalyzedFace]:
        """The faces with the named (default: every) embedders' vectors they lack added."""
        image = _check_image(image)
        aligned = [AlignedFace(image, replace(f, embeddings=dict(f.embeddings))) for f in faces]
        self.embed_aligned(aligned, names)
        return [a.face for a in aligned]

    def _embedder(self, name: str) -> Embedder:
        for embedder in self._embedders:
            if embedder.name == name:
                return embedder
        raise ValueError(f"the engine has no embedder {name}")

    def _named(self, names: Sequence[str] | None) -> list[Embedder]:
        if names is None:
            return list(self._embedders)
        wanted = [self._embedder(n) for n in names]  # raises on an unknown name
        return [e for e in self._embedders if e in wanted]

    def analyze(self, image: ImageArray, *, max_faces: int | None = None) -> list[AnalyzedFace]:
        """Detect and embed every face (or the `max_faces` largest), largest first."""
        faces = self.detect(image)
        if max_faces is not None:
            faces = faces[:max_faces]
        return self.embed(image, faces)

    @staticmethod
    def crop_jpeg(
        image: ImageArray, face: DetectedFace | AnalyzedFace, size: int = 160, quality: int = 85
    ) -> bytes:
        """A square JPEG of the face with some margin, at most `size` pixels a side (for UIs)."""
        detected = face.detected if isinstance(face, AnalyzedFace) else face
        box = detected.box
        side = max(box.w, box.h) * 1.4
        cx, cy = box.x + box.w / 2, box.y + box.h / 2
        h, w = image.shape[:2]
        x0, y0 = max(0, round(cx - side / 2)), max(0, round(cy - side / 2))
        x1, y1 = min(w, round(cx + side / 2)), min(h, round(cy + side / 2))
        crop = image[y0:y1, x0:x1]
        if crop.size == 0:
            crop = image
        longest = max(crop.shape[:2])
        if longest > size:
            scale = size / longest
            crop = cv2.resize(
                crop,
                (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale))),
                interpolation=cv2.INTER_AREA,
            )
        ok, buf = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise RuntimeError("JPEG encoding failed")
        return buf.tobytes()


def _embed_batch(faces: Sequence[AlignedFace], embedder: Embedder) -> None:
    """One embedder call over these faces' crops (the 112-pixel crop serves every embedder that
    takes it as it is)."""
    crops = []
    for f in faces:
        crop = f.crops.get(embedder.name)
        if crop is None and embedder.input_size == 112 and embedder.zoom == 1.0:
            crop = f.crops.get(SHARED_CROP)
        if crop is None:
            crop = embedder.align(f.image, f.face.detected.landmarks, f.face.detected.box)
            f.crops[embedder.name] = crop
        crops.append(crop)
    vectors = embedder.embed(crops)
    for f, vec in zip(faces, vectors, strict=True):
        f.face.embeddings[embedder.name] = np.asarray(vec, dtype=np.float32)


def _check_image(image: ImageArray) -> ImageArray:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise TypeError("expected a BGR uint8 numpy array (use load_image)")
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ValueError(f"expected an image of shape (H, W, 3), got {image.shape}")
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return image
