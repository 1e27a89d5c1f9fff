"""Five-point face alignment: a similarity transform onto a canonical template."""

from __future__ import annotations

import cv2
import numpy as np

from stash_sense.faces.types import FloatArray, ImageArray

#: The ArcFace template for a 112x112 crop (insightface): eyes, nose tip, mouth corners.
ARCFACE_TEMPLATE: FloatArray = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float32,
)


def template(size: int, zoom: float = 1.0) -> FloatArray:
    """The ArcFace template for a `size` square crop; zoom < 1 leaves more margin around it."""
    centre = 56.0
    points = (ARCFACE_TEMPLATE - centre) * zoom + centre
    return (points * (size / 112.0)).astype(np.float32)


def umeyama(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity transform (Umeyama 1991) mapping src points onto dst, 2x3."""
    src = src.astype(np.float64)
    dst = dst.astype(np.float64)
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_d, dst_d = src - src_mean, dst - dst_mean
    cov = dst_d.T @ src_d / len(src)
    u, s, vt = np.linalg.svd(cov)
    d = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[1] = -1.0
    rotation = u @ np.diag(d) @ vt
    var_src = float(src_d.var(axis=0).sum())
    scale = float(s @ d) / var_src if var_src > 1e-12 else 1.0
    matrix = np.zeros((2, 3), dtype=np.float64)
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = dst_mean - scale * (rotation @ src_mean)
    return matrix


def similarity_matrix(landmarks: FloatArray, size: int, zoom: float = 1.0) -> np.ndarray:
    """The 2x3 similarity transform that takes the five landmarks onto the template."""
    return umeyama(np.asarray(landmarks, dtype=np.float32).reshape(5, 2), template(size, zoom))


def align(
    image: ImageArray, landmarks: FloatArray, size: int = 112, zoom: float = 1.0
) -> ImageArray:
    """The face warped onto the ArcFace template: a size x size BGR crop."""
    matrix = similarity_matrix(landmarks, size, zoom)
    return cv2.warpAffine(
        image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
