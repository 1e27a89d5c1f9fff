"""ArcFace ResNet-50 (InsightFace buffalo_l, w600k_r50), 512-d, 112x112 RGB, run by onnxruntime.

Optional: used only when onnxruntime is installed and the model was fetched
(`stash-sense models fetch arcface`). CUDA is used when onnxruntime offers it and the device
setting is not "cpu" (runtime.py); onnxruntime's threads are capped by the cores the user allows.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np

from stash_sense.faces.embedders.base import Embedder, NetPool
from stash_sense.faces.embedders.runtime import providers, session_options
from stash_sense.faces.types import ImageArray
from stash_sense.models import is_present


class ArcFaceEmbedder(Embedder):
    model = "arcface"
    dim = 512
    input_size = 112

    def __init__(self, *, flip: bool = False) -> None:
        super().__init__(flip=flip)
        # an onnxruntime session is thread-safe: one is enough
        self._pool: NetPool[Any] = NetPool(self._load, limit=1)
        self._input_name: str | None = None

    @staticmethod
    def available() -> bool:
        """Whether onnxruntime is installed and the model file is present."""
        return importlib.util.find_spec("onnxruntime") is not None and is_present("arcface")

    def _load(self) -> Any:
        import onnxruntime as ort

        session = ort.InferenceSession(self.model_path(), session_options(), providers=providers())
        self._input_name = session.get_inputs()[0].name
        return session

    def _forward(self, crops: list[ImageArray]) -> np.ndarray:
        batch = np.stack([c[:, :, ::-1] for c in crops]).astype(np.float32)
        batch = ((batch - 127.5) / 127.5).transpose(0, 3, 1, 2)
        with self._pool.borrow() as session:
            (out,) = session.run(None, {self._input_name: np.ascontiguousarray(batch)})
        return np.asarray(out, dtype=np.float32).reshape(len(crops), -1)
