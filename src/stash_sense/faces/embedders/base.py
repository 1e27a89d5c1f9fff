"""What every embedder is: a name, a vector size, a version, its own alignment, and embed()."""

from __future__ import annotations

import queue
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Generic, TypeVar

import numpy as np

from stash_sense.faces.alignment import align
from stash_sense.faces.cores import worker_threads
from stash_sense.faces.types import Box, FloatArray, ImageArray
from stash_sense.models import ModelSpec, get_spec, resolve_model_path

T = TypeVar("T")


class NetPool(Generic[T]):
    """Up to `limit` instances of a network, made lazily and lent to one thread at a time.

    OpenCV's DNN networks are not thread-safe; one per thread would multiply memory by the
    thread count (FaceNet is 94 MB), so threads borrow from a small pool instead.
    """

    def __init__(self, factory: Callable[[], T], limit: int | None = None) -> None:
        self._factory = factory
        self._limit = limit or worker_threads()
        self._idle: queue.SimpleQueue[T] = queue.SimpleQueue()
        self._made = 0
        self._lock = threading.Lock()
        self._available = threading.Semaphore(self._limit)

    @contextmanager
    def borrow(self) -> Iterator[T]:
        self._available.acquire()
        try:
            try:
                net = self._idle.get_nowait()
            except queue.Empty:
                with self._lock:
                    self._made += 1
                try:
                    net = self._factory()
                except BaseException:
                    with self._lock:
                        self._made -= 1
                    raise
            try:
                yield net
            finally:
                self._idle.put(net)
        finally:
            self._available.release()


def l2_normalise(vectors: np.ndarray) -> FloatArray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


class Embedder(ABC):
    """Turns aligned face crops into L2-normalised float32 identity vectors.

    Subclasses set `model` (a registry name), `dim`, `input_size`, optionally `zoom` (the margin
    of their alignment) and write `_forward()`; the model file is resolved and verified once.
    """

    model: str
    dim: int
    input_size: int
    zoom: float = 1.0
    #: how crops are prepared, when not the model's plain default: part of the version, so that
    #: vectors made another way are never mixed with these in one database
    recipe: str = ""

    def __init__(self, *, flip: bool = False) -> None:
        #: also embed the mirrored crop and average the two vectors
        self.flip = flip
        self._spec = get_spec(self.model)
        self._path_lock = threading.Lock()
        self._path: str | None = None

    @property
    def name(self) -> str:
        return self._spec.name

    @property
    def version(self) -> str:
        recipe = f"+{self.recipe}" if self.recipe else ""
        return self._spec.version + recipe + ("+flip" if self.flip else "")

    @property
    def spec(self) -> ModelSpec:
        return self._spec

    @property
    def sha256(self) -> str:
        return self._spec.sha256

    def model_path(self) -> str:
        """The verified model file (hashed once per process)."""
        with self._path_lock:
            if self._path is None:
                self._path = str(resolve_model_path(self.model))
            return self._path

    @property
    def workers(self) -> int:
        """How many cores this embedder's network may run on at once (1: threads share it)."""
        return 1

    def set_workers(self, workers: int) -> None:
        """Let the network run on up to `workers` cores (for a network that holds the GIL: worker
        processes; the others release it and run in the caller's threads, so nothing to do)."""
        return None

    def close(self) -> None:
        """Stop whatever this embedder started (worker processes); it still works afterwards,
        in this process."""
        return None

    def align(self, image: ImageArray, landmarks: FloatArray, box: Box | None = None) -> ImageArray:
        """The crop this embedder expects, from the image and a face's five landmarks (and its
        box, for an embedder that places points of its own in it)."""
        return align(image, landmarks, self.input_size, self.zoom)

    def embed(self, crops: Sequence[ImageArray]) -> FloatArray:
        """(n, dim) float32 L2-normalised vectors for n aligned BGR crops."""
        if len(crops) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        batch = list(crops)
        if self.flip:
            mirrored = [np.ascontiguousarray(c[:, ::-1]) for c in batch]
            raw = self._forward(batch + mirrored)
            n = len(batch)
            raw = l2_normalise(raw[:n]) + l2_normalise(raw[n:])
        else:
            raw = self._forward(batch)
        vectors = l2_normalise(raw)
        if vectors.shape != (len(batch), self.dim):
            raise RuntimeError(f"{self.name}: expected {self.dim}-d vectors, got {vectors.shape}")
        return vectors

    @abstractmethod
    def _forward(self, crops: list[ImageArray]) -> np.ndarray:
        """Raw (n, dim) network outputs for n crops of input_size x input_size."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, dim={self.dim}, flip={self.flip})"
