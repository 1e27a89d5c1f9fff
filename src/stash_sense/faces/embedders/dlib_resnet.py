"""dlib's face recognition ResNet (dlib_face_recognition_resnet_model_v1), 128-d, 150x150 RGB.

The network and dlib's 5-point shape predictor ship in the `face-recognition-models` package and
run in `dlib` (the `dlib-bin` wheel), imported when the first face is aligned. dlib trained the
network on its own "face chips": the shape predictor places five points (eye corners, nose base)
inside a face box and `get_face_chip(image, shape, 150, padding=0.25)` warps them onto dlib's
template. This embedder does exactly that inside YuNet's box. Measured against warping YuNet's own
five landmarks onto a fitted template (docs/matching.md): dlib alone, hard queries, 450 performers,
81.0% rank-1 with dlib's points against 78.7% with YuNet's.

The network itself runs in OpenCV's DNN (or in onnxruntime on a GPU where the device setting allows
it, runtime.py), as an ONNX graph converted from dlib's own file on first use (dlib_cache.py): the
same vectors (cosine > 0.99999 to dlib's), about 8x less CPU, and it
releases the GIL, so the callers' threads share it. Where the conversion fails it runs in dlib
(one warning), on as many lanes as the engine's cores (this process and worker processes,
faces/lanes.py), since dlib holds the GIL.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Literal

import cv2
import numpy as np

from stash_sense.faces.embedders.base import Embedder, NetPool
from stash_sense.faces.embedders.dlib_cache import ConversionError, dlib_graph
from stash_sense.faces.embedders.runtime import OnnxNet
from stash_sense.faces.lanes import Lanes
from stash_sense.faces.types import Box, FloatArray, ImageArray
from stash_sense.models import resolve_model_path

DIM = 128
#: the chip dlib's network was trained on
CHIP_SIZE = 150
CHIP_PADDING = 0.25
#: without a box, one this many times the landmarks' width, centred on them
BOX_FROM_LANDMARKS = 1.8

Backend = Literal["opencv", "dlib"]
log = logging.getLogger(__name__)


def box_around(landmarks: FloatArray) -> Box:
    points = np.asarray(landmarks, dtype=np.float32).reshape(5, 2)
    side = BOX_FROM_LANDMARKS * float(points[:, 0].max() - points[:, 0].min())
    cx, cy = (float(v) for v in points.mean(axis=0))
    return Box(cx - side / 2, cy - side / 2, side, side)


class DlibResNetEmbedder(Embedder):
    model = "dlib"
    dim = DIM
    input_size = CHIP_SIZE
    recipe = "shape5-chip"

    def __init__(
        self, *, flip: bool = False, workers: int = 1, backend: Backend | None = None
    ) -> None:
        """`backend`: "opencv" (the converted graph; an error when it cannot be had), "dlib", or
        None: OpenCV, or dlib with one warning when the conversion fails."""
        super().__init__(flip=flip)
        self._nets: NetPool[Any] = NetPool(self._load_net)
        self.graph = OnnxNet(self._graph_source)
        self._predictors: NetPool[Any] = NetPool(self._load_predictor)
        self._lanes = Lanes(self._run_here, load_net, forward, self.model_path, workers)
        self._asked: Backend | None = backend
        self._backend: Backend | None = backend if backend == "dlib" else None
        self._backend_lock = threading.Lock()

    @property
    def backend(self) -> Backend:
        """Where the network runs: "opencv" (the converted graph) or "dlib"; chosen on first use."""
        with self._backend_lock:
            if self._backend is None:
                self._backend = self._choose()
            return self._backend

    def _choose(self) -> Backend:
        try:
            self.model_path()  # a missing or wrong .dat is an error whichever way it runs
            self.graph.check()  # loads the graph: one OpenCV refuses fails here
        except (ConversionError, cv2.error) as exc:
            if self._asked == "opencv":
                raise ConversionError(f"dlib's ResNet cannot run in OpenCV: {exc}") from None
            log.warning("dlib's ResNet runs in dlib, several times slower: %s", exc)
            return "dlib"
        return "opencv"

    @staticmethod
    def _graph_source() -> str | bytes:
        graph = dlib_graph()
        return graph if isinstance(graph, bytes) else str(graph)

    @property
    def workers(self) -> int:
        """How many cores the network may run on at once (this process and worker processes)."""
        return self._lanes.workers

    def set_workers(self, workers: int) -> None:
        self._lanes.close()
        self._lanes.workers = max(1, workers)

    @property
    def lanes(self) -> Lanes:
        """Where the network runs: this process and the worker processes (faces/lanes.py)."""
        return self._lanes

    def close(self) -> None:
        self._lanes.close()

    def model_path(self) -> str:
        resolve_model_path("dlib-shape5")  # verified too, so that load() checks both files
        return super().model_path()

    @staticmethod
    def _load_predictor() -> Any:
        import dlib  # the dlib-bin wheel, a dependency of the package

        return dlib.shape_predictor(str(resolve_model_path("dlib-shape5")))

    def _load_net(self) -> Any:
        return load_net(self.model_path())

    def align(self, image: ImageArray, landmarks: FloatArray, box: Box | None = None) -> ImageArray:
        """dlib's 150x150 face chip (BGR, as every crop here) from its own five points in `box`
        (YuNet's; without one, a box around the landmarks)."""
        import dlib

        b = box or box_around(landmarks)
        rgb = np.ascontiguousarray(image[:, :, ::-1])
        rect = dlib.rectangle(round(b.x), round(b.y), round(b.x + b.w), round(b.y + b.h))
        with self._predictors.borrow() as predictor:
            shape = predictor(rgb, rect)
        chip = dlib.get_face_chip(rgb, shape, CHIP_SIZE, CHIP_PADDING)
        return np.ascontiguousarray(np.asarray(chip)[:, :, ::-1])

    def _forward(self, crops: list[ImageArray]) -> np.ndarray:
        if self.backend == "opencv":
            # the graph takes BGR 0..255 (dlib's mean, scale and RGB order are folded into it)
            blob = cv2.dnn.blobFromImages(
                crops, 1.0, (CHIP_SIZE, CHIP_SIZE), (0, 0, 0), swapRB=False, crop=False
            )
            return self.graph.run(blob).reshape(len(crops), self.dim)
        chips = [np.ascontiguousarray(c[:, :, ::-1]) for c in crops]  # dlib wants RGB
        return self._lanes.run(chips).reshape(len(crops), self.dim)

    def _run_here(self, chips: list[ImageArray]) -> np.ndarray:
        with self._nets.borrow() as net:
            return forward(net, chips)


def load_net(path: str) -> Any:
    """dlib's network from its (verified) file; in this process or a worker process."""
    import dlib  # the dlib-bin wheel, a dependency of the package

    return dlib.face_recognition_model_v1(path)


def forward(net: Any, chips: list[ImageArray]) -> np.ndarray:
    """(n, 128) float32 descriptors of n 150x150 RGB chips."""
    out = net.compute_face_descriptor(chips) if chips else []
    return np.asarray(out, dtype=np.float32).reshape(len(chips), DIM)
