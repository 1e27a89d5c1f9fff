"""Face detection with YuNet (cv2.FaceDetectorYN), at any image size.

Big images are shrunk for detection and small ones enlarged, so that YuNet always sees a frame of a
size it handles well; boxes and landmarks are mapped back to the original image's pixels. YuNet's
largest anchors are 256 px, so a face filling a big frame is missed (or split into bogus parts):
frames larger than `coarse_side` get a second, coarse pass, and the two passes are merged by NMS.
A small face's landmarks are imprecise at the size YuNet saw it (a 50 px face in a video frame):
they are measured again on an enlarged crop around the face, which makes its alignment, and so
its identification, much better (docs/models.md has the figures). That costs a second YuNet call
per small face, so a caller with many faces (a scene) may detect without it and `refine` only the
faces it will identify.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from stash_sense.faces.types import Box, DetectedFace, ImageArray


@dataclass(frozen=True)
class DetectorSettings:
    """Detector knobs; the defaults were chosen by measurement (docs/models.md)."""

    score_threshold: float = 0.6
    nms_threshold: float = 0.3
    top_k: int = 5000
    #: faces whose box's shorter side is below this (original pixels) are dropped
    min_face_size: float = 16.0
    #: images whose longest side exceeds this are shrunk to it for detection
    max_side: int = 1280
    #: images whose longest side is below this are enlarged to it for detection
    min_side: int = 320
    #: frames whose detection size exceeds this also get a pass at this longest side (big faces)
    coarse_side: int = 640
    #: faces seen smaller than this (longer box side, pixels YuNet saw) get refined landmarks
    refine_below: float = 128.0
    #: the size the face is enlarged to for refinement
    refine_size: float = 224.0


def quiet_opencv() -> None:
    """Keep OpenCV's DNN warnings (e.g. about targets of the new graph engine) off stderr."""
    level = cv2.utils.logging.getLogLevel()
    if level > cv2.utils.logging.LOG_LEVEL_ERROR:
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)


class YuNetDetector:
    """YuNet behind a per-thread instance: OpenCV's detector objects are not thread-safe."""

    def __init__(self, model_path: Path, settings: DetectorSettings | None = None) -> None:
        self.model_path = Path(model_path)
        self.settings = settings or DetectorSettings()
        self._local = threading.local()

    def _instance(self) -> cv2.FaceDetectorYN:
        detector: cv2.FaceDetectorYN | None = getattr(self._local, "detector", None)
        if detector is None:
            quiet_opencv()
            s = self.settings
            detector = cv2.FaceDetectorYN.create(
                str(self.model_path), "", (320, 320), s.score_threshold, s.nms_threshold, s.top_k
            )
            self._local.detector = detector
        return detector

    def detection_scale(self, width: int, height: int) -> float:
        """The factor the image is resized by before YuNet sees it."""
        longest = max(width, height)
        if longest > self.settings.max_side:
            return self.settings.max_side / longest
        if 0 < longest < self.settings.min_side:
            return self.settings.min_side / longest
        return 1.0

    def pass_scales(self, width: int, height: int) -> list[float]:
        """The scales YuNet runs at: the fine one, plus a coarse one for big frames."""
        fine = self.detection_scale(width, height)
        longest = max(width, height)
        coarse = self.settings.coarse_side / longest if longest else 1.0
        if longest * fine > 1.25 * self.settings.coarse_side:
            return [fine, coarse]
        return [fine]

    def _run(self, image: ImageArray, scale: float) -> np.ndarray:
        """YuNet rows (box, landmarks, score, scale) at one scale, in original pixels."""
        height, width = image.shape[:2]
        work = image
        if scale != 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            interpolation = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR
            work = cv2.resize(image, size, interpolation=interpolation)
        detector = self._instance()
        detector.setInputSize((work.shape[1], work.shape[0]))
        _, raw = detector.detect(work)
        if raw is None or len(raw) == 0:
            return np.zeros((0, 16), dtype=np.float32)
        rows = np.array(raw, dtype=np.float32).reshape(-1, 15)
        rows = np.hstack([rows, np.full((len(rows), 1), scale, dtype=np.float32)])
        # the resize rounds each side separately: map back per axis
        sx = width / work.shape[1]
        sy = height / work.shape[0]
        rows[:, 0:14:2] *= sx
        rows[:, 1:14:2] *= sy
        return rows

    def detect(self, image: ImageArray, *, refine: bool = True) -> list[DetectedFace]:
        """Every face in a BGR image, largest first, in the image's own pixel coordinates.

        With `refine=False` small faces keep the landmarks of the frame-sized pass.
        """
        if image.ndim != 3 or image.shape[0] < 1 or image.shape[1] < 1:
            return []
        height, width = image.shape[:2]
        rows = np.concatenate([self._run(image, s) for s in self.pass_scales(width, height)])
        if len(rows) > 1:
            keep = cv2.dnn.NMSBoxes(
                [[float(v) for v in r[:4]] for r in rows],
                [float(r[14]) for r in rows],
                self.settings.score_threshold,
                self.settings.nms_threshold,
            )
            rows = rows[np.asarray(keep, dtype=np.int64).reshape(-1)]
        faces: list[DetectedFace] = []
        for row in rows:
            x, y, w, h = (float(v) for v in row[:4])
            if min(w, h) < self.settings.min_face_size:
                continue
            landmarks = row[4:14].reshape(5, 2).astype(np.float32)
            if refine and max(w, h) * float(row[15]) < self.settings.refine_below:
                landmarks = self._refine(image, row, landmarks)
            # clip the box to the image: YuNet may overshoot at the border
            x0, y0 = max(0.0, x), max(0.0, y)
            x1, y1 = min(float(width), x + w), min(float(height), y + h)
            if x1 - x0 < 1 or y1 - y0 < 1:
                continue
            faces.append(
                DetectedFace(
                    box=Box(x0, y0, x1 - x0, y1 - y0),
                    score=float(row[14]),
                    landmarks=landmarks,
                )
            )
        faces.sort(key=lambda f: f.box.area, reverse=True)
        return faces

    def refine(self, image: ImageArray, face: DetectedFace) -> DetectedFace:
        """`face` (found with `refine=False`) with its landmarks measured again if it is small."""
        b = face.box
        scale = self.detection_scale(image.shape[1], image.shape[0])
        if max(b.w, b.h) * scale >= self.settings.refine_below:
            return face
        row = np.array([b.x, b.y, b.w, b.h], dtype=np.float32)
        landmarks = self._refine(image, row, face.landmarks)
        return DetectedFace(box=face.box, score=face.score, landmarks=landmarks)

    def _refine(self, image: ImageArray, row: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """Landmarks of a small face measured again on a crop enlarged to `refine_size`."""
        x, y, w, h = (float(v) for v in row[:4])
        side = max(w, h)
        cx, cy = x + w / 2, y + h / 2
        height, width = image.shape[:2]
        x0, y0 = max(0, int(cx - side)), max(0, int(cy - side))
        x1, y1 = min(width, int(np.ceil(cx + side))), min(height, int(np.ceil(cy + side)))
        if x1 - x0 < 2 or y1 - y0 < 2:
            return landmarks
        crop = image[y0:y1, x0:x1]
        rows = self._run(crop, self.settings.refine_size / side)
        if len(rows) == 0:
            return landmarks
        # the detection nearest the face's centre, if it is the same face (centre inside the box)
        centres = rows[:, :2] + rows[:, 2:4] / 2 + [x0, y0]
        nearest = int(np.argmin(np.linalg.norm(centres - [cx, cy], axis=1)))
        bx, by = centres[nearest]
        if not (x <= bx <= x + w and y <= by <= y + h):
            return landmarks
        refined = rows[nearest, 4:14].reshape(5, 2) + np.array([x0, y0], dtype=np.float32)
        return refined.astype(np.float32)
