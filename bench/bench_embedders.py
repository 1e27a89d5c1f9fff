"""Accuracy of each embedder, of their fusion, with and without flip-averaging.

Protocol (../shared/eval/README.md): enrol `0.jpg` of every lfw-dev identity plus every
distractor; query every other lfw-dev image, plain and hard (a small degraded face in a noisy
640x360 frame). A query is right when its nearest enrolled face (brute force, cosine distance)
is its identity; a query without a detected face counts as wrong. TAR at FAR 1e-3: the share of
genuine (query, own enrolment) pairs whose distance is below the threshold that lets through
0.1% of impostor (query, other identity) pairs.

Which face of an image is its subject: LFW photos are crops centred on the named person (the
README: "face roughly centred"), yet some hold a second, larger face (a companion leaning into the
frame), so in a 250x250 LFW photo the subject is the face nearest the centre. A hard query pastes
the photo, shrunk, at a random spot of a wider frame, so there the subject is the largest face.

    python -m bench.bench_embedders [--alignment-study] [--limit N]

Writes bench/results/embedders.json.
"""

from __future__ import annotations

import argparse
import functools
import json
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from bench.evaldata import FACES, require_eval
from stash_sense.faces import FaceEngine, ImageError, load_image
from stash_sense.faces.embedders import EMBEDDERS, ArcFaceEmbedder, Embedder, FaceNetEmbedder
from stash_sense.faces.embedders.base import l2_normalise
from stash_sense.faces.types import DetectedFace

ROOT = Path(__file__).resolve().parents[1]
EVAL = FACES
RESULTS = ROOT / "bench" / "results" / "embedders.json"
FAR = 1e-3


@dataclass
class Item:
    identity: str
    path: Path
    #: True for an LFW photo (subject = face nearest the centre), False for a hard query (largest)
    centred: bool = True
    image: np.ndarray | None = None
    face: DetectedFace | None = None


@dataclass
class Sets:
    gallery: list[Item] = field(default_factory=list)
    plain: list[Item] = field(default_factory=list)
    hard: list[Item] = field(default_factory=list)

    def all(self) -> list[Item]:
        return self.gallery + self.plain + self.hard


def collect(limit: int | None) -> Sets:
    dev, distractors, hard = (
        EVAL / "lfw-dev",
        EVAL / "lfw-dev-distractors",
        EVAL / "lfw-dev-hard-queries",
    )
    for folder in (dev, distractors, hard):
        if not folder.is_dir():
            sys.exit(f"evaluation data missing: {folder}")
    sets = Sets()
    identities = sorted(p.name for p in dev.iterdir() if p.is_dir())[:limit]
    for name in identities:
        for image in sorted((dev / name).glob("*.jpg")):
            if image.name == "0.jpg":
                sets.gallery.append(Item(name, image))
            else:
                sets.plain.append(Item(name, image))
                if (hard / name / image.name).is_file():
                    sets.hard.append(Item(name, hard / name / image.name, centred=False))
    for folder in sorted(p for p in distractors.iterdir() if p.is_dir()):
        for image in sorted(folder.glob("*.jpg")):
            sets.gallery.append(Item(folder.name, image))
    return sets


def detect_all(engine: FaceEngine, items: Sequence[Item]) -> None:
    for item in items:
        try:
            item.image = load_image(item.path)
        except ImageError:
            continue
        faces = engine.detect(item.image)  # largest first
        if not faces:
            item.face = None
        elif item.centred:
            item.face = nearest_centre(faces, item.image.shape[1], item.image.shape[0])
        else:
            item.face = faces[0]


def nearest_centre(faces: Sequence[DetectedFace], width: int, height: int) -> DetectedFace:
    """The face whose box centre lies nearest the image centre (the subject of an LFW photo)."""

    def off_centre(face: DetectedFace) -> float:
        b = face.box
        return float(np.hypot(b.x + b.w / 2 - width / 2, b.y + b.h / 2 - height / 2))

    return min(faces, key=off_centre)


def embed_items(
    items: Sequence[Item], embedder: Embedder, crop: Callable[[Item], np.ndarray] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Plain and mirrored vectors (each L2-normalised); NaN rows where no face was found."""
    plain = np.full((len(items), embedder.dim), np.nan, dtype=np.float32)
    mirrored = plain.copy()
    for i, item in enumerate(items):
        if item.face is None or item.image is None:
            continue
        c = crop(item) if crop else embedder.align(item.image, item.face.landmarks, item.face.box)
        out = embedder._forward([c, np.ascontiguousarray(c[:, ::-1])])
        vecs = l2_normalise(out)
        plain[i], mirrored[i] = vecs[0], vecs[1]
    return plain, mirrored


def combine(plain: np.ndarray, mirrored: np.ndarray, flip: bool) -> np.ndarray:
    if not flip:
        return plain
    return l2_normalise(np.nan_to_num(plain + mirrored, nan=np.nan))


def distances(gallery: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """(n_queries, n_gallery) cosine distances; rows/columns of missing faces are +inf."""
    d = 1.0 - queries @ gallery.T
    return np.where(np.isnan(d), np.inf, d)


def scores(
    dist: np.ndarray, gallery_ids: Sequence[str], query_ids: Sequence[str]
) -> dict[str, float]:
    g = np.asarray(gallery_ids)
    q = np.asarray(query_ids)
    same = q[:, None] == g[None, :]
    best = np.argmin(dist, axis=1)
    found = np.isfinite(dist.min(axis=1))
    rank1 = float(np.mean(found & (g[best] == q)))
    genuine = dist[same]
    impostor = dist[~same]
    impostor = impostor[np.isfinite(impostor)]
    # the threshold admitting a FAR share of impostor pairs
    k = max(1, int(np.floor(FAR * impostor.size)))
    threshold = float(np.partition(impostor, k - 1)[k - 1]) if impostor.size else 0.0
    tar = float(np.mean(genuine < threshold)) if genuine.size else 0.0
    return {
        "rank1": round(rank1, 4),
        "tar_at_far_1e-3": round(tar, 4),
        "threshold": round(threshold, 4),
    }


def evaluate(
    sets: Sets, vectors: dict[str, dict[str, np.ndarray]], weights: dict[str, float]
) -> dict[str, dict[str, float]]:
    """Scores on plain and hard queries for a weighted fusion of cosine distances."""
    out: dict[str, dict[str, float]] = {}
    gallery_ids = [i.identity for i in sets.gallery]
    for part in ("plain", "hard"):
        items: list[Item] = getattr(sets, part)
        total = None
        for name, w in weights.items():
            if w == 0:
                continue
            d = w * distances(vectors[name]["gallery"], vectors[name][part])
            total = d if total is None else total + d
        assert total is not None
        out[part] = scores(total, gallery_ids, [i.identity for i in items])
    return out


def facenet_box_crop(item: Item, margin: float = 0.15, size: int = 160) -> np.ndarray:
    """An MTCNN-style crop: the detector box grown by `margin` of its size, squashed to 160."""
    assert item.image is not None and item.face is not None
    b = item.face.box
    h, w = item.image.shape[:2]
    x0, y0 = max(0, int(b.x - margin * b.w)), max(0, int(b.y - margin * b.h))
    x1, y1 = min(w, int(b.x + b.w * (1 + margin))), min(h, int(b.y + b.h * (1 + margin)))
    return cv2.resize(item.image[y0:y1, x0:x1], (size, size), interpolation=cv2.INTER_LINEAR)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="only the first N identities")
    parser.add_argument("--alignment-study", action="store_true", help="also compare FaceNet crops")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    require_eval()

    cv2.setNumThreads(max(1, cv2.getNumberOfCPUs()))
    engine = FaceEngine.create(("sface",)).load()
    sets = collect(args.limit)
    started = time.perf_counter()
    detect_all(engine, sets.all())
    missing = {
        part: sum(1 for i in getattr(sets, part) if i.face is None)
        for part in ("gallery", "plain", "hard")
    }
    print(
        f"{len(sets.gallery)} enrolled, {len(sets.plain)} plain + {len(sets.hard)} hard queries; "
        f"no face: {missing} ({time.perf_counter() - started:.0f} s)"
    )

    embedders: dict[str, Embedder] = {n: EMBEDDERS[n]() for n in ("sface", "facenet")}
    if ArcFaceEmbedder.available():
        embedders["arcface"] = ArcFaceEmbedder()
    raw: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {}
    for name, embedder in embedders.items():
        t = time.perf_counter()
        raw[name] = {
            p: embed_items(getattr(sets, p), embedder) for p in ("gallery", "plain", "hard")
        }
        print(f"embedded with {name} ({time.perf_counter() - t:.0f} s)")

    results: dict[str, object] = {}
    variants: dict[str, dict[str, dict[str, float]]] = {}
    vectors: dict[str, dict[str, np.ndarray]] = {}
    for name in embedders:
        for flip in (False, True):
            key = name + ("+flip" if flip else "")
            vectors[key] = {p: combine(*raw[name][p], flip) for p in raw[name]}
            variants[key] = evaluate(sets, vectors, {key: 1.0})
    names = list(embedders)
    for flip in (False, True):
        suffix = "+flip" if flip else ""
        pair = [n + suffix for n in names[:2]]
        for w in np.round(np.arange(0.1, 1.0, 0.1), 2):
            weights = {pair[0]: float(w), pair[1]: float(1 - w)}
            label = f"fusion{suffix} {pair[0]}={w:.1f} {pair[1]}={1 - w:.1f}"
            variants[label] = evaluate(sets, vectors, weights)
        if len(names) > 2:
            weights = {n + suffix: 1.0 / len(names) for n in names}
            variants[f"fusion{suffix} all equal"] = evaluate(sets, vectors, weights)
    results["variants"] = variants

    if args.alignment_study:
        study: dict[str, dict[str, dict[str, float]]] = {}
        for zoom in (1.0, 0.9, 0.8, 0.7):
            fn = FaceNetEmbedder(zoom=zoom)
            v = {p: embed_items(getattr(sets, p), fn)[0] for p in ("gallery", "plain", "hard")}
            study[f"template zoom {zoom}"] = evaluate(sets, {"x": v}, {"x": 1.0})
            print(f"facenet zoom {zoom}: {study[f'template zoom {zoom}']}")
        for margin in (0.1, 0.2):
            fn = FaceNetEmbedder()
            grown = functools.partial(facenet_box_crop, margin=margin)
            parts = ("gallery", "plain", "hard")
            v = {p: embed_items(getattr(sets, p), fn, grown)[0] for p in parts}
            study[f"box crop margin {margin}"] = evaluate(sets, {"x": v}, {"x": 1.0})
            print(f"facenet box margin {margin}: {study[f'box crop margin {margin}']}")
        results["facenet_alignment"] = study

    def rank(item: tuple[str, dict[str, dict[str, float]]]) -> tuple[float, float]:
        r = item[1]
        return (r["plain"]["rank1"] + r["hard"]["rank1"], r["hard"]["tar_at_far_1e-3"])

    best = max(variants.items(), key=rank)
    results["best"] = {"variant": best[0], **best[1]}
    results["setup"] = {
        "enrolled": len(sets.gallery),
        "plain_queries": len(sets.plain),
        "hard_queries": len(sets.hard),
        "no_face": missing,
        "facenet_zoom": FaceNetEmbedder.zoom,
        "engine_default": list(FaceEngine.default().embedder_names),
        "python": platform.python_version(),
        "opencv": cv2.__version__,
        "elapsed_s": round(time.perf_counter() - started, 1),
    }
    print(f"{'variant':48} {'plain r1':>9} {'TAR':>7} {'hard r1':>9} {'TAR':>7}")
    for key, r in variants.items():
        print(
            f"{key:48} {r['plain']['rank1']:9.4f} {r['plain']['tar_at_far_1e-3']:7.4f} "
            f"{r['hard']['rank1']:9.4f} {r['hard']['tar_at_far_1e-3']:7.4f}"
        )
    print(f"best: {best[0]}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
