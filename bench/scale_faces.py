"""Real face vectors for the scale benchmark: the product's default FaceEngine (SFace + dlib) run
once over a part of ../shared/eval/faces, kept in bench/work/scale/faces-<set>.npz.

bench/face_cache.py embeds every set and keeps landmarks and mirrored crops (about 30 CPU-minutes);
the scale benchmark needs only the default ensemble's vectors of the subject face:

- `lfw-dev` (150 identities, 772 photos) and the first EXTRA_IDENTITIES multi-photo identities of
  `lfw-dev-extra`: the real identities enrolled in the big database (`0.jpg`) and queried (the
  other photos);
- `lfw-dev-distractors` (300 one-photo identities): the real inter-person vectors the synthetic
  distractors are fitted to; `lfw-dev-extra-distractors` (the first FIT_IDENTITIES one-photo
  identities): real ones they are checked against.

    python -m bench.scale_faces        # about 20 minutes on 2 cores under load; resumes
    python -m bench.scale_faces --only=lfw-dev-extra-distractors     # one set (run two at once)

Same subject rule as face_cache: the face nearest the centre of an LFW photo.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from bench.bench_embedders import EVAL, nearest_centre
from bench.resume import run_resumable
from stash_sense.faces import FaceEngine, ImageError, load_image

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / "work" / "scale"
#: multi-photo identities of lfw-dev-extra enrolled and queried (with lfw-dev's 150)
EXTRA_IDENTITIES = 250
#: one-photo identities of lfw-dev-extra-distractors the synthetic faces are checked against
FIT_IDENTITIES = 600
SETS = ("lfw-dev", "lfw-dev-extra", "lfw-dev-distractors", "lfw-dev-extra-distractors")
SAVE_EVERY = 200


def cache_path(name: str) -> Path:
    return WORK / f"faces-{name}.npz"


def images(name: str) -> list[tuple[str, str]]:
    """(identity, file) of the photos of one set this benchmark uses, in a fixed order."""
    folder = EVAL / name
    if not folder.is_dir():
        sys.exit(f"evaluation data missing: {folder}")
    idents = sorted(p for p in folder.iterdir() if p.is_dir())
    if name == "lfw-dev-extra":
        idents = [p for p in idents if len(list(p.glob("*.jpg"))) >= 2][:EXTRA_IDENTITIES]
    elif name == "lfw-dev-extra-distractors":
        idents = idents[:FIT_IDENTITIES]
    return [(p.name, f.name) for p in idents for f in sorted(p.glob("*.jpg"))]


def build(name: str, engine: FaceEngine) -> None:
    """Embed the subject face of every photo of one set (resuming from a partial file)."""
    items = images(name)
    n = len(items)
    partial = WORK / f"faces-{name}.partial.npz"
    arrays: dict[str, np.ndarray] = {
        f"vec_{e}": np.full((n, 128), np.nan, np.float32) for e in engine.embedder_names
    }

    def step(i: int) -> None:
        ident, file = items[i]
        try:
            image = load_image(EVAL / name / ident / file)
        except ImageError:
            return
        faces = engine.detect(image)
        if faces:
            subject = nearest_centre(faces, image.shape[1], image.shape[0])
            face = engine.embed(image, [subject])[0]
            for e in engine.embedder_names:
                arrays[f"vec_{e}"][i] = face.embeddings[e]

    run_resumable(partial, arrays, step, label=name, every=SAVE_EVERY)
    np.savez(
        cache_path(name),
        identities=np.array([i for i, _ in items]),
        files=np.array([f for _, f in items]),
        **arrays,  # type: ignore[arg-type]
    )
    partial.unlink(missing_ok=True)


def load(name: str) -> dict[str, np.ndarray]:
    """identities, files and vec_<embedder> (L2-normalised; NaN where no face) of one set."""
    with np.load(cache_path(name)) as data:
        return {k: data[k] for k in data.files}


def main() -> int:
    WORK.mkdir(parents=True, exist_ok=True)
    engine = FaceEngine.default().load()
    only = [a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--only=")]
    for name in only or SETS:
        if cache_path(name).is_file():
            print(f"{name}: cached")
            continue
        build(name, engine)
    return 0


if __name__ == "__main__":
    sys.exit(main())
