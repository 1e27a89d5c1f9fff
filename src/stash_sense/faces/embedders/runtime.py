"""Where an ONNX network runs: onnxruntime on CUDA when the `device` setting allows it and
onnxruntime offers CUDA, OpenCV's DNN otherwise; one warning when a GPU was asked for and the CPU
runs the networks instead. Nothing here requires onnxruntime."""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Callable
from typing import Any, Literal

import cv2
import numpy as np

from stash_sense.faces.cores import worker_threads
from stash_sense.faces.embedders.base import NetPool

Device = Literal["auto", "cpu", "gpu"]
Where = Literal["onnxruntime", "opencv"]
DEVICES: tuple[Device, ...] = ("auto", "cpu", "gpu")
#: the provider a GPU runs the networks in (the tests stand the CPU provider in for it)
GPU_PROVIDER = "CUDAExecutionProvider"
CPU_PROVIDER = "CPUExecutionProvider"
#: onnxruntime's own log: errors only (a failed CUDA provider is told in our one warning)
ORT_LOG_SEVERITY = 3

log = logging.getLogger(__name__)
_device: Device = "auto"
_warned = False
_lock = threading.Lock()


def use_device(device: Device) -> None:
    """Where this process runs the networks made afterwards: "auto" (CUDA when onnxruntime
    offers it), "cpu" (never CUDA) or "gpu" (CUDA, with one warning when it cannot be had).
    Called once at start-up with the user's setting."""
    global _device, _warned
    if device not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(DEVICES)}, got {device!r}")
    with _lock:
        _device, _warned = device, False


def device() -> Device:
    return _device


def _offered() -> list[str]:
    """The providers onnxruntime says it has; empty without onnxruntime."""
    try:
        import onnxruntime as ort
    except ImportError:
        return []
    return list(ort.get_available_providers())


def providers() -> list[str]:
    """The providers an onnxruntime-only network (ArcFace) may use: the GPU's first where the
    device setting allows it and onnxruntime offers it, then the CPU's."""
    offered = _offered()
    gpu = [GPU_PROVIDER] if _device != "cpu" and GPU_PROVIDER in offered else []
    return [*gpu, CPU_PROVIDER]


def session_options() -> Any:
    """onnxruntime's options: its threads capped by the cores the user allows (faces/cores.py),
    its own log quiet below errors."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = worker_threads()
    options.inter_op_num_threads = 1
    options.log_severity_level = ORT_LOG_SEVERITY
    return options


def _warn(why: str) -> None:
    global _warned
    with _lock:
        if _warned:
            return
        _warned = True
    log.warning(
        "a GPU was asked for (STASH_SENSE_DEVICE=gpu) but the CPU runs the networks: %s", why
    )


def used_inputs_only(model: str | bytes) -> bytes:
    """The graph without the inputs no node reads: onnxruntime asks for every declared input,
    and SFace's int8 file still declares its float weights, which nodes no longer read (OpenCV
    ignores them)."""
    import onnx

    proto = onnx.load_from_string(model) if isinstance(model, bytes) else onnx.load(model)
    read = {name for node in proto.graph.node for name in node.input}
    read |= {out.name for out in proto.graph.output}
    kept = [i for i in proto.graph.input if i.name in read]
    del proto.graph.input[:]
    proto.graph.input.extend(kept)
    return bytes(proto.SerializeToString())


def gpu_session(model: str | bytes) -> Any | None:
    """An onnxruntime session of `model` (a path or the graph's bytes) on the GPU, or None where
    the CPU (OpenCV's DNN) runs it: always with "cpu"; with "gpu" after one warning naming why."""
    if _device == "cpu":
        return None
    offered = _offered()
    if not offered:
        why = "onnxruntime is not installed (pip install 'stash-sense[gpu]')"
    elif GPU_PROVIDER not in offered:
        why = f"this onnxruntime offers no {GPU_PROVIDER} (a CPU-only build)"
    else:
        import onnxruntime as ort

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a missing provider is told below, once
                session = ort.InferenceSession(
                    used_inputs_only(model),
                    session_options(),
                    providers=[GPU_PROVIDER],
                    enable_fallback=0,
                )
        except Exception as exc:  # onnxruntime raises its own, undocumented, classes
            why = (
                f"{GPU_PROVIDER} failed to start: {str(exc).splitlines()[0] if str(exc) else exc!r}"
            )
        else:
            if GPU_PROVIDER in session.get_providers():
                return session
            why = f"{GPU_PROVIDER} could not be loaded (its CUDA libraries are missing?)"
    if _device == "gpu":
        _warn(why)
    return None


class OnnxNet:
    """One ONNX network run where the device setting says, chosen on first use: a shared
    onnxruntime session on the GPU, or a pool of OpenCV DNN nets lent one thread at a time."""

    def __init__(self, model: Callable[[], str | bytes], input_name: str = "") -> None:
        """`model`: the network's file or bytes (called once); `input_name`: the input OpenCV
        should be given the blob by (empty: its first)."""
        self._model = model
        self._input = input_name
        self._source: str | bytes | None = None
        self._session: Any = None
        self._where: Where | None = None
        self._lock = threading.Lock()
        self._nets: NetPool[cv2.dnn.Net] = NetPool(self._load_opencv)

    @property
    def where(self) -> Where:
        """Where the network runs: "onnxruntime" (the GPU) or "opencv" (the CPU); chosen once."""
        with self._lock:
            if self._where is None:
                self._source = self._model()
                self._session = gpu_session(self._source)
                self._where = "opencv" if self._session is None else "onnxruntime"
            return self._where

    def _load_opencv(self) -> cv2.dnn.Net:
        source = self._source
        if isinstance(source, bytes):
            return cv2.dnn.readNetFromONNX(np.frombuffer(source, dtype=np.uint8))
        return cv2.dnn.readNet(str(source))

    def check(self) -> None:
        """Loads the network the way it will run: a graph OpenCV refuses fails here."""
        if self.where == "opencv":
            with self._nets.borrow():
                pass

    def run(self, blob: np.ndarray) -> np.ndarray:
        """The network's first output for an NCHW float32 blob."""
        if self.where == "onnxruntime" and len(blob):
            first = self._session.get_inputs()[0]
            # a graph made for one image at a time (SFace's) runs the batch one by one
            step = first.shape[0] if isinstance(first.shape[0], int) else len(blob)
            outs = [
                self._session.run(None, {first.name: blob[i : i + step]})[0]
                for i in range(0, len(blob), max(1, step))
            ]
            return np.concatenate(outs).astype(np.float32, copy=False)
        with self._nets.borrow() as net:
            if self._input:
                net.setInput(blob, self._input)
            else:
                net.setInput(blob)
            return np.asarray(net.forward(), dtype=np.float32)
