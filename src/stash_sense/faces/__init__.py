"""The face pipeline: decode an image, detect faces, align them, embed them, judge their quality.

`FaceEngine.default().analyze(load_image("photo.jpg"))` gives every face, largest first, with every
embedder's vector.
"""

from stash_sense.faces.embedders import Embedder
from stash_sense.faces.engine import FaceEngine
from stash_sense.faces.imageio import ImageError, load_image
from stash_sense.faces.types import AnalyzedFace, Box, DetectedFace, FaceQuality

__all__ = [
    "AnalyzedFace",
    "Box",
    "DetectedFace",
    "Embedder",
    "FaceEngine",
    "FaceQuality",
    "ImageError",
    "load_image",
]
