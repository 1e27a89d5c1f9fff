"""How usable a face is for identification: detector score, size, sharpness and head pose."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from stash_sense.faces.alignment import align
from stash_sense.faces.types import DetectedFace, FaceQuality, FloatArray, ImageArray


@dataclass(frozen=True)
class QualityPolicy:
    """Thresholds for `usable`. Chosen so that small, blurred video-frame faces (45-90 px) still
    pass while junk (tiny, smeared, profile, low-score detections) is dropped; see docs/models.md.
    """

    min_score: float = 0.7
    min_size: float = 24.0
    min_blur: float = 15.0
    max_yaw: float = 50.0
    max_pitch: float = 45.0
    max_roll: float = 45.0


#: the head-pose verdicts of `assess`: a harder view of a face, not a useless one
TURNED_AWAY = "turned away"
LOOKING_UP_OR_DOWN = "looking up or down"
TILTED = "tilted"
POSE_REASONS = frozenset({TURNED_AWAY, LOOKING_UP_OR_DOWN, TILTED})


def enrollable(quality: FaceQuality) -> bool:
    """Whether a face may stand for a performer in the database: usable, or failing only the
    head-pose checks. A portrait turned enough to fail them is still its subject, and the pose
    read from five points overstates turns (lfw-dev: 8 of 450 enrolment photos called "turned
    away", mostly three-quarter views that match; docs/models.md); skipping it would leave the
    performer out, and taking a smaller "usable" face instead would enrol someone else."""
    return not set(quality.reasons) - POSE_REASONS


def head_pose(landmarks: FloatArray) -> tuple[float, float, float]:
    """Rough yaw, pitch and roll in degrees from five landmarks; 0, 0, 0 is a frontal face.

    Roll is the eye line's angle. Yaw and pitch come from where the nose tip sits in the face
    after undoing the roll: between the eyes horizontally, and between eyes and mouth vertically
    (on a frontal face it sits at about 0.45 of the eye-to-mouth distance).
    """
    pts = np.asarray(landmarks, dtype=np.float64).reshape(5, 2)
    eye_l, eye_r, nose, mouth_l, mouth_r = pts
    dx, dy = eye_r - eye_l
    roll = math.degrees(math.atan2(dy, dx))
    c, s = math.cos(-math.radians(roll)), math.sin(-math.radians(roll))
    rot = np.array([[c, -s], [s, c]])
    eye_mid = (eye_l + eye_r) / 2
    p = (pts - eye_mid) @ rot.T
    eye_l, eye_r, nose, mouth_l, mouth_r = p
    half_span = max((eye_r[0] - eye_l[0]) / 2, 1e-6)
    mouth_mid = (mouth_l + mouth_r) / 2
    # horizontal offset of the nose from the eye/mouth mid-line, relative to half the eye span
    centre_x = mouth_mid[0] / 2
    yaw_ratio = float(np.clip((nose[0] - centre_x) / half_span, -1.0, 1.0))
    yaw = math.degrees(math.asin(yaw_ratio))
    face_h = max(mouth_mid[1], 1e-6)
    pitch_ratio = float(np.clip((nose[1] / face_h - 0.45) / 0.45, -1.0, 1.0))
    pitch = math.degrees(math.asin(pitch_ratio))
    return yaw, pitch, roll


def sharpness(aligned: ImageArray) -> float:
    """Variance of the Laplacian of a 112x112 aligned crop (higher is sharper)."""
    if aligned.shape[0] != 112 or aligned.shape[1] != 112:
        aligned = cv2.resize(aligned, (112, 112), interpolation=cv2.INTER_AREA)
    gray = cv2.cvtColor(aligned, cv2.COLOR_BGR2GRAY) if aligned.ndim == 3 else aligned
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


def assess(
    image: ImageArray,
    face: DetectedFace,
    aligned112: ImageArray | None = None,
    policy: QualityPolicy | None = None,
) -> FaceQuality:
    """The quality figures of one face and the `usable` verdict with its reasons."""
    policy = policy or QualityPolicy()
    if aligned112 is None:
        aligned112 = align(image, face.landmarks, 112)
    size = float(min(face.box.w, face.box.h))
    blur = sharpness(aligned112)
    yaw, pitch, roll = head_pose(face.landmarks)
    reasons: list[str] = []
    if face.score < policy.min_score:
        reasons.append("low detection score")
    if size < policy.min_size:
        reasons.append("too small")
    if blur < policy.min_blur:
        reasons.append("too blurry")
    if abs(yaw) > policy.max_yaw:
        reasons.append(TURNED_AWAY)
    if abs(pitch) > policy.max_pitch:
        reasons.append(LOOKING_UP_OR_DOWN)
    if abs(roll) > policy.max_roll:
        reasons.append(TILTED)
    return FaceQuality(
        detection_score=float(face.score),
        size=size,
        blur=blur,
        yaw=yaw,
        pitch=pitch,
        roll=roll,
        usable=not reasons,
        reasons=tuple(reasons),
    )
