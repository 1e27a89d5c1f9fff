"""Plain data types that flow out of the face pipeline into the database and matching."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
# BGR uint8, shape (H, W, 3); left loose because OpenCV returns untyped arrays
ImageArray = np.ndarray


@dataclass(frozen=True)
class Box:
    """A face box in the coordinates of the original (EXIF-rotated) image, in pixels."""

    x: float
    y: float
    w: float
    h: float

    @property
    def area(self) -> float:
        return self.w * self.h

    def as_list(self) -> list[float]:
        return [round(self.x, 1), round(self.y, 1), round(self.w, 1), round(self.h, 1)]


@dataclass(frozen=True)
class FaceQuality:
    """How usable a face is for recognition; `usable` folds the other figures into one verdict."""

    detection_score: float
    size: float  # shorter side of the box, pixels
    blur: float  # variance of the Laplacian of the aligned face; higher is sharper
    yaw: float  # degrees, estimated from landmarks; 0 is frontal
    pitch: float
    roll: float
    usable: bool
    reasons: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {
            "detection_score": round(self.detection_score, 4),
            "size": round(self.size, 1),
            "blur": round(self.blur, 1),
            "yaw": round(self.yaw, 1),
            "pitch": round(self.pitch, 1),
            "roll": round(self.roll, 1),
            "usable": self.usable,
            "reasons": list(self.reasons),
        }


@dataclass
class DetectedFace:
    """One face found by the detector: box, detector score and five landmarks (x, y)."""

    box: Box
    score: float
    # eyes (right, left as seen in the image: image-left first), nose tip, mouth corners
    landmarks: FloatArray  # shape (5, 2)


@dataclass
class AnalyzedFace:
    """A detected face with its quality and one L2-normalised float32 vector per embedder name."""

    detected: DetectedFace
    quality: FaceQuality
    embeddings: dict[str, FloatArray] = field(default_factory=dict)

    @property
    def box(self) -> Box:
        return self.detected.box

    @property
    def score(self) -> float:
        return self.detected.score
