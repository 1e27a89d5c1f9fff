"""FaceEngine: detect, align, embed and judge every face of an image with one call."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import ClassVar

import cv2
import numpy as np

from stash_sense.faces.alignment import align
from stash_sense.faces.detection import DetectorSettings, YuNetDetector
from stash_sense.faces.embedders import Embedder, make_embedder
from stash_sense.faces.quality import QualityPolicy, assess
from stash_sense.faces.types import AnalyzedFace, DetectedFace, ImageArray
from stash_sense.models import resolve_model_path

#: The default ensemble, chosen by measurement (docs/models.md, bench/bench_embedders.py).
DEFAULT_EMBEDDERS: tuple[str, ...] = ("sface", "facenet")
DEFAULT_FLIP = False


class FaceEngine:
    """YuNet detection plus an ensemble of embedders.

    Models load lazily, once, under a lock (two threads may ask for the first face together);
    every public method is thread-safe.
    """

    _default: ClassVar[FaceEngine | None] = None
    _default_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(
        self,
        embedders: Sequence[Embedder],
        *,
        detector_settings: DetectorSettings | None = None,
        quality_policy: QualityPolicy | None = None,
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
        self._lock = threading.Lock()

    @classmethod
    def create(
        cls,
        embedder_names: Sequence[str] = DEFAULT_EMBEDDERS,
        *,
        flip: bool = DEFAULT_FLIP,
        detector_settings: DetectorSettings | None = None,
        quality_policy: QualityPolicy | None = None,
    ) -> FaceEngine:
        """A new engine with the named embedders (see stash_sense.faces.embedders.EMBEDDERS)."""
        return cls(
            [make_embedder(name, flip=flip) for name in embedder_names],
            detector_settings=detector_settings,
            quality_policy=quality_policy,
        )

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
    def _get_detector(self) -> YuNetDetector:
        with self._lock:
            if self._detector is None:
                self._detector = YuNetDetector(resolve_model_path("yunet"), self._detector_settings)
            return self._detector

    def detect(self, image: ImageArray, *, refine: bool = True) -> list[DetectedFace]:
        """Every face in a BGR image, largest first (`refine`: see YuNetDetector.detect)."""
        return self._get_detector().detect(_check_image(image), refine=refine)

    def refine(self, image: ImageArray, face: DetectedFace) -> DetectedFace:
        """A face found with `refine=False`, with the landmarks `detect` would have given it."""
        return self._get_detector().refine(_check_image(image), face)

    def embed(
        self,
        image: ImageArray,
        detected: Sequence[DetectedFace],
        names: Sequence[str] | None = None,
    ) -> list[AnalyzedFace]:
        """Quality and every embedder's vector (or only the named ones') for each detected face."""
        image = _check_image(image)
        if not detected:
            return []
        crops112 = [align(image, face.landmarks, 112) for face in detected]
        vectors = self._vectors(image, detected, crops112, names)
        results: list[AnalyzedFace] = []
        for i, face in enumerate(detected):
            quality = assess(image, face, crops112[i], self.quality_policy)
            results.append(
                AnalyzedFace(
                    detected=face,
                    quality=quality,
                    embeddings={name: vecs[i].copy() for name, vecs in vectors.items()},
                )
            )
        return results

    def complete(
        self, image: ImageArray, faces: Sequence[AnalyzedFace], names: Sequence[str] | None = None
    ) -> list[AnalyzedFace]:
        """The faces with the named (default: every) embedders' vectors they lack added."""
        image = _check_image(image)
        wanted = list(names) if names is not None else self.embedder_names
        missing = [n for n in wanted if any(n not in f.embeddings for f in faces)]
        if not faces or not missing:
            return list(faces)
        detected = [f.detected for f in faces]
        crops112 = [align(image, face.landmarks, 112) for face in detected]
        vectors = self._vectors(image, detected, crops112, missing)
        return [
            AnalyzedFace(
                detected=f.detected,
                quality=f.quality,
                embeddings={**f.embeddings, **{n: v[i].copy() for n, v in vectors.items()}},
            )
            for i, f in enumerate(faces)
        ]

    def _vectors(
        self,
        image: ImageArray,
        detected: Sequence[DetectedFace],
        crops112: list[np.ndarray],
        names: Sequence[str] | None,
    ) -> dict[str, np.ndarray]:
        if names is not None:
            unknown = [n for n in names if n not in self.embedder_names]
            if unknown:
                raise ValueError(f"the engine has no embedder {', '.join(unknown)}")
        vectors: dict[str, np.ndarray] = {}
        for embedder in self._embedders:
            if names is not None and embedder.name not in names:
                continue
            if embedder.input_size == 112 and embedder.zoom == 1.0:
                crops = crops112
            else:
                crops = [embedder.align(image, face.landmarks) for face in detected]
            vectors[embedder.name] = embedder.embed(crops)
        return vectors

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
