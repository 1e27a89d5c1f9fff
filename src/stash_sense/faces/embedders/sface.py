"""SFace (OpenCV Zoo, 2021dec int8 block-quantised), 128-d, ArcFace-aligned 112x112 BGR; run in
OpenCV's DNN, or in onnxruntime on a GPU where the device setting allows it (runtime.py)."""

from __future__ import annotations

import cv2
import numpy as np

from stash_sense.faces.embedders.base import Embedder
from stash_sense.faces.embedders.runtime import OnnxNet
from stash_sense.faces.types import ImageArray


class SFaceEmbedder(Embedder):
    model = "sface"
    dim = 128
    input_size = 112

    def __init__(self, *, flip: bool = False) -> None:
        super().__init__(flip=flip)
        # cv2.FaceRecognizerSF cannot run the int8bq build under OpenCV 5; the plain DNN net can,
        # given the input by its name
        self.net = OnnxNet(self.model_path, "data")

    def _forward(self, crops: list[ImageArray]) -> np.ndarray:
        # SFace takes raw BGR 0..255 values
        blob = cv2.dnn.blobFromImages(
            crops, 1.0, (self.input_size, self.input_size), (0, 0, 0), swapRB=False, crop=False
        )
        return self.net.run(blob).reshape(len(crops), -1)
