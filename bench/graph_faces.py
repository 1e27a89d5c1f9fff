"""The face vectors the identity-graph benchmark gives its synthetic records, made once by the
product's FaceEngine (the default ensemble, SFace + dlib ResNet) and kept in bench/work.

One row per image of ../shared/eval/faces sets lfw-dev, lfw-dev-extra (people with 2 to 6 photos)
and lfw-dev-distractors (one photo each): the subject face (the one nearest the image centre, as
bench/face_cache.py chooses it), its vector per embedder, NaN where no face was found.

    python -m bench.graph_faces      # resumable; writes bench/work/graph-faces.npz
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.bench_embedders import nearest_centre
from bench.evaldata import FACES, require_eval
from bench.resume import run_resumable
from stash_sense.faces import FaceEngine, ImageError, load_image

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "bench" / "work" / "graph-faces.npz"
SETS = ("lfw-dev", "lfw-dev-extra", "lfw-dev-distractors")
EMBEDDERS = ("sface", "dlib")


@dataclass
class GraphFaces:
    """Row i is image `files[i]` of identity `identities[i]` in set `sets[i]`."""

    sets: np.ndarray
    identities: np.ndarray
    files: np.ndarray
    vectors: dict[str, np.ndarray]  # embedder -> (n, dim), L2-normalised, NaN without a face

    @property
    def found(self) -> np.ndarray:
        return ~np.isnan(self.vectors[EMBEDDERS[0]][:, 0])


def images() -> list[tuple[str, str, str]]:
    """(set, identity, file) of every image, in a fixed order."""
    out: list[tuple[str, str, str]] = []
    for name in SETS:
        for ident in sorted(p.name for p in (FACES / name).iterdir() if p.is_dir()):
            for file in sorted(p.name for p in (FACES / name / ident).glob("*.jpg")):
                out.append((name, ident, file))
    return out


def load() -> GraphFaces:
    """The cache, made first when missing (minutes on 2 cores)."""
    if not CACHE.is_file():
        build()
    data = np.load(CACHE)
    return GraphFaces(
        sets=data["sets"],
        identities=data["identities"],
        files=data["files"],
        vectors={k: data[f"vec_{k}"] for k in EMBEDDERS},
    )


def build() -> None:
    """Analyse every image (resuming a partial run) and write the cache."""
    require_eval()
    items = images()
    n = len(items)
    partial = CACHE.with_suffix(".partial.npz")
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    engine = FaceEngine.create(EMBEDDERS)
    dims = {e.name: e.dim for e in engine.embedders}
    arrays = {f"vec_{k}": np.full((n, dims[k]), np.nan, np.float32) for k in EMBEDDERS}

    def step(i: int) -> None:
        name, ident, file = items[i]
        try:
            image = load_image(FACES / name / ident / file)
        except ImageError:
            return
        faces = engine.detect(image)
        if faces:
            face = nearest_centre(faces, image.shape[1], image.shape[0])
            analysed = engine.embed(image, [face])[0]
            for k in EMBEDDERS:
                arrays[f"vec_{k}"][i] = analysed.embeddings[k]

    run_resumable(partial, arrays, step, label="graph faces", every=250)
    np.savez(
        CACHE,
        sets=np.array([s for s, _, _ in items]),
        identities=np.array([i for _, i, _ in items]),
        files=np.array([f for _, _, f in items]),
        **arrays,  # type: ignore[arg-type]
    )
    partial.unlink(missing_ok=True)


if __name__ == "__main__":
    build()
    sys.exit(0)
