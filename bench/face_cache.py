"""Every face of ../shared/eval/faces, analysed once by the product's FaceEngine and kept on disk.

The calibration study (bench/bench_accuracy.py) works in numpy on these vectors instead of running
the networks again: one row per image with its subject face's box, landmarks, quality, and the
SFace and dlib ResNet vectors of the crop (SFace's also of its mirror image: flip test-time
augmentation is then a sum). FaceNet's vectors, or any other embedder's, are added from the
cached landmarks on request (`--add=facenet`; no detection again). Candidate engines that are not
product embedders keep their vectors beside the cache (bench/candidates.py).

Which face of an image is its subject: an LFW photo is a crop centred on the named person, so the
face nearest the centre; a hard query pastes the photo, shrunk, into a wider frame, so the largest
face (bench_embedders.detect_all).

    python -m bench.face_cache            # about 30 CPU-minutes; resumes where it stopped
    python -m bench.face_cache --only=lfw-dev-extra      # one set (run several at once)
    python -m bench.face_cache --peer     # the peer's too: face_recognition (dlib), about an hour

Writes bench/work/faces-<set>.npz and dlib-<set>.npz (git-ignored). The peer's file holds its
128-d encoding of each image's subject face (chosen by the same rule), NaN where it found none,
and the seconds it took.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.bench_embedders import EVAL, nearest_centre
from bench.resume import run_resumable
from stash_sense.faces import FaceEngine, ImageError, load_image
from stash_sense.faces.alignment import align
from stash_sense.faces.embedders import make_embedder
from stash_sense.faces.embedders.base import Embedder, l2_normalise
from stash_sense.faces.quality import assess
from stash_sense.faces.types import Box

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / "work"
SETS = (
    "lfw-dev",
    "lfw-dev-distractors",
    "lfw-dev-hard-queries",
    "lfw-dev-extra",
    "lfw-dev-extra-distractors",
)
#: every embedder a cache may hold; a new cache is made with CACHED (FaceNet left the default
#: ensemble, issue 15, so it is only added on request: `--add=facenet`)
NAMES = ("sface", "facenet", "dlib")
CACHED = ("sface", "dlib")
#: quality columns, in this order
QUALITY = ("detection_score", "size", "blur", "yaw", "pitch", "roll", "usable")
CHUNK = 200
#: the embedders whose mirrored crops are embedded too (flip test-time augmentation; SFace's costs
#: 10 ms a face, a mirror of dlib's ResNet 80 ms, so its flip is not cached)
MIRROR = ("sface",)


@dataclass
class FaceSet:
    """The cached faces of one evaluation set; row i is `identities[i]/files[i]`."""

    name: str
    identities: np.ndarray  # (n,) str
    files: np.ndarray  # (n,) str, e.g. "2.jpg"
    found: np.ndarray  # (n,) bool: a face was detected
    n_faces: np.ndarray  # (n,) int: faces in the image
    box: np.ndarray  # (n, 4) x, y, w, h
    landmarks: np.ndarray  # (n, 5, 2)
    quality: np.ndarray  # (n, len(QUALITY))
    vectors: dict[str, np.ndarray]  # name -> (n, dim), NaN where no face
    mirrored: dict[str, np.ndarray]  # name -> (n, dim), the mirrored crop's vectors

    def vector(self, name: str, flip: bool = False) -> np.ndarray:
        """L2-normalised vectors, flip-averaged when asked."""
        if not flip:
            return self.vectors[name]
        return l2_normalise(np.nan_to_num(self.vectors[name] + self.mirrored[name], nan=np.nan))

    def quality_of(self, column: str) -> np.ndarray:
        return self.quality[:, QUALITY.index(column)]


def cache_path(name: str) -> Path:
    return WORK / f"faces-{name}.npz"


def partial_path(name: str) -> Path:
    return WORK / f"faces-{name}.partial.npz"


def available(name: str) -> bool:
    return cache_path(name).is_file() or partial_path(name).is_file()


def load(name: str) -> FaceSet:
    """The cached set (run this module first); of a set still being cached, the images done so
    far (the study then runs on fewer identities, and says how many)."""
    path = cache_path(name)
    if path.is_file():
        data = dict(np.load(path))
        done = np.ones(len(data["found"]), bool)
    elif partial_path(name).is_file():
        data = dict(np.load(partial_path(name)))
        items = _images(name)
        data["identities"] = np.array([i for i, _ in items])
        data["files"] = np.array([f for _, f in items])
        done = data["done"]
    else:
        sys.exit(f"no face cache {path}: run `python -m bench.face_cache` first")
    return FaceSet(
        name=name,
        identities=data["identities"],
        files=data["files"],
        found=data["found"] & done,
        n_faces=data["n_faces"],
        box=data["box"],
        landmarks=data["landmarks"],
        quality=data["quality"],
        vectors={n: data[f"vec_{n}"] for n in NAMES if f"vec_{n}" in data},
        mirrored={n: data[f"mir_{n}"] for n in NAMES if f"mir_{n}" in data},
    )


def _images(name: str) -> list[tuple[str, str]]:
    folder = EVAL / name
    if not folder.is_dir():
        sys.exit(f"evaluation data missing: {folder}")
    return [
        (ident.name, image.name)
        for ident in sorted(p for p in folder.iterdir() if p.is_dir())
        for image in sorted(ident.glob("*.jpg"))
    ]


def build(name: str, engine: FaceEngine, mirror: tuple[str, ...] = MIRROR) -> None:
    """Analyse every image of one set (resuming from a partial file) and write its cache;
    `mirror`: the embedders whose mirrored crops are embedded too (NaN for the others)."""
    items = _images(name)
    n = len(items)
    dims = {e.name: e.dim for e in engine.embedders}
    arrays: dict[str, np.ndarray] = {
        "found": np.zeros(n, bool),
        "n_faces": np.zeros(n, np.int32),
        "box": np.zeros((n, 4), np.float32),
        "landmarks": np.zeros((n, 5, 2), np.float32),
        "quality": np.zeros((n, len(QUALITY)), np.float32),
        **{f"vec_{k}": np.full((n, dims[k]), np.nan, np.float32) for k in dims},
        **{f"mir_{k}": np.full((n, dims[k]), np.nan, np.float32) for k in dims},
    }
    embedders = {e.name: e for e in engine.embedders}
    centred = name != "lfw-dev-hard-queries"

    def step(i: int) -> None:
        ident, file = items[i]
        try:
            image = load_image(EVAL / name / ident / file)
        except ImageError:
            return
        faces = engine.detect(image)
        arrays["n_faces"][i] = len(faces)
        if not faces:
            return
        face = nearest_centre(faces, image.shape[1], image.shape[0]) if centred else faces[0]
        quality = assess(image, face, align(image, face.landmarks, 112))
        arrays["found"][i] = True
        b = face.box
        arrays["box"][i] = (b.x, b.y, b.w, b.h)
        arrays["landmarks"][i] = face.landmarks
        arrays["quality"][i] = [float(getattr(quality, c)) for c in QUALITY]
        for k in dims:
            crop = embedders[k].align(image, face.landmarks, face.box)
            crops = [crop, np.ascontiguousarray(crop[:, ::-1])] if k in mirror else [crop]
            out = l2_normalise(embedders[k]._forward(crops))
            arrays[f"vec_{k}"][i] = out[0]
            if k in mirror:
                arrays[f"mir_{k}"][i] = out[1]

    run_resumable(partial_path(name), arrays, step, label=name, every=CHUNK)
    arrays["identities"] = np.array([i for i, _ in items])
    arrays["files"] = np.array([f for _, f in items])
    np.savez(cache_path(name), **arrays)  # type: ignore[arg-type]
    partial_path(name).unlink(missing_ok=True)


def add_embedder(name: str, embedder: Embedder) -> None:
    """Give a cached set one more embedder's vectors, made from the cached landmarks (no
    detection again); the mirrored ones are left NaN."""
    path = cache_path(name)
    data = dict(np.load(path))
    key = f"vec_{embedder.name}"
    if key in data:
        return
    fs = load(name)
    out = np.full((len(fs.files), embedder.dim), np.nan, np.float32)
    started = time.perf_counter()
    rows = np.nonzero(fs.found)[0]
    for count, i in enumerate(rows, 1):
        image = load_image(EVAL / name / fs.identities[i] / fs.files[i])
        crop = embedder.align(image, fs.landmarks[i], Box(*(float(v) for v in fs.box[i])))
        out[i] = l2_normalise(embedder._forward([crop]))[0]
        if count % CHUNK == 0:
            rate = count / (time.perf_counter() - started)
            print(f"{name} +{embedder.name}: {count}/{len(rows)} ({rate:.1f} images/s)", flush=True)
    data[key] = out
    data[f"mir_{embedder.name}"] = np.full_like(out, np.nan)
    np.savez(path, **data)


def peer_path(name: str) -> Path:
    return WORK / f"dlib-{name}.npz"


def build_peer(name: str) -> None:
    """face_recognition's encoding of every image's subject face (HOG detector, as it ships)."""
    import face_recognition

    items = _images(name)
    centred = name != "lfw-dev-hard-queries"
    out = np.full((len(items), 128), np.nan, dtype=np.float32)
    started = time.perf_counter()
    for i, (ident, file) in enumerate(items, 1):
        rgb = face_recognition.load_image_file(str(EVAL / name / ident / file))
        boxes = face_recognition.face_locations(rgb)  # HOG, upsampled once
        if boxes:
            if centred:
                cy, cx = rgb.shape[0] / 2, rgb.shape[1] / 2
                subject = min(
                    boxes, key=lambda b: np.hypot((b[0] + b[2]) / 2 - cy, (b[1] + b[3]) / 2 - cx)
                )
            else:
                subject = max(boxes, key=lambda b: (b[2] - b[0]) * (b[1] - b[3]))
            out[i - 1] = face_recognition.face_encodings(rgb, [subject])[0]
        if i % CHUNK == 0:
            print(f"dlib {name}: {i}/{len(items)}", flush=True)
    np.savez(
        peer_path(name),
        identities=np.array([i for i, _ in items]),
        files=np.array([f for _, f in items]),
        vectors=out,
        elapsed=time.perf_counter() - started,
    )


def main() -> int:
    WORK.mkdir(parents=True, exist_ok=True)
    engine = FaceEngine.create(CACHED).load()
    only = [a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--only=")]
    extra = [a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--add=")]
    for name in only or (SETS if "--peer-only" not in sys.argv[1:] else ()):
        if cache_path(name).is_file():
            print(f"{name}: cached")
            for embedder in [*engine.embedders, *(make_embedder(e) for e in extra)]:
                add_embedder(name, embedder)
            continue
        build(name, engine)
    if {"--peer", "--peer-only"} & set(sys.argv[1:]):
        for name in SETS:
            if not peer_path(name).is_file():
                build_peer(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
