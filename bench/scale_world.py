"""The scale benchmark's database: 110,000 performers / 370,000 faces per embedder, built through
the product's `DatabaseWriter`, with real LFW identities inside; cached in bench/work/scale/.

Method (docs/scale.md, "How the vectors are made"). A face is one 256-d vector, SFace's 128 next
to dlib's 128, so the two embedders stay correlated as they are on a real face. Fitted on real
vectors of the default FaceEngine (bench/scale_faces.py):

- the total covariance St and mean mu on the one-photo identities of lfw-dev-distractors (300
  people, one face each);
- the within-person covariance Sw on the deviations of each multi-photo identity's photos from
  its mean (lfw-dev and the enrolled part of lfw-dev-extra);
- the between-person covariance Sb = St - Sw (negative eigenvalues clipped to 0).

A synthetic performer is a centre c ~ N(mu, Sb); each of its faces is c + N(0, Sw), each 128-d
half then L2-normalised. Faces per performer: 1 + Poisson, scaled to the anchor's 3.4 per
performer. `check_model` compares the synthetic vectors with real ones the fit never saw
(lfw-dev-extra-distractors' 600 people and the enrolled 0.jpg photos): random-pair,
nearest-neighbour and same-person distances.

The real identities (lfw-dev's 150 and EXTRA of lfw-dev-extra) are enrolled with their 0.jpg only,
at random places among the synthetic performers; their other photos are the queries.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench import scale_faces
from stash_sense.database import DatabaseWriter
from stash_sense.database.records import EmbedderInfo, PerformerRecord
from stash_sense.faces import FaceEngine

WORK = scale_faces.WORK
EMBEDDERS = ("sface", "dlib")
DIM = 128
ENDPOINT = "https://stashdb.org/graphql"
#: the anchor: the best public project's release (issue 24)
ANCHOR_PERFORMERS, ANCHOR_FACES = 108_001, 366_794
QUICK = os.environ.get("BENCH_QUICK") == "1"
PERFORMERS, FACES = (11_000, 37_000) if QUICK else (110_000, 370_000)
SEED = 24
#: the one-photo people the Gaussian is fitted to, and those it is checked against
FIT_SET, CHECK_SET = "lfw-dev-distractors", "lfw-dev-extra-distractors"


@dataclass
class RealSet:
    """Real vectors: one row per photo with a face (256-d, each half normalised)."""

    identities: np.ndarray
    files: np.ndarray
    vectors: np.ndarray
    group: np.ndarray  # the set each row comes from


def load_real() -> RealSet:
    """Every embedded photo of bench/scale_faces.py that has a face (sets not embedded yet are
    left out: building the database needs all but CHECK_SET)."""
    ids, files, vecs, group = [], [], [], []
    for name in scale_faces.SETS:
        if not scale_faces.cache_path(name).is_file():
            continue
        data = scale_faces.load(name)
        v = np.concatenate([data[f"vec_{e}"] for e in EMBEDDERS], axis=1)
        ok = np.isfinite(v).all(axis=1)
        ids.append(data["identities"][ok])
        files.append(data["files"][ok])
        vecs.append(v[ok].astype(np.float64))
        group.append(np.full(int(ok.sum()), name))
    return RealSet(
        np.concatenate(ids), np.concatenate(files), np.concatenate(vecs), np.concatenate(group)
    )


def split_normalise(v: np.ndarray) -> np.ndarray:
    """Each embedder's half of 256-d rows L2-normalised (float32)."""
    out = np.empty(v.shape, dtype=np.float32)
    for k in range(len(EMBEDDERS)):
        half = v[:, k * DIM : (k + 1) * DIM]
        out[:, k * DIM : (k + 1) * DIM] = half / np.linalg.norm(half, axis=1, keepdims=True)
    return out


@dataclass
class FaceModel:
    """The fitted two-level Gaussian (see the module docstring)."""

    mean: np.ndarray
    between: np.ndarray  # square root of Sb
    within: np.ndarray  # square root of Sw

    @classmethod
    def fit(cls, real: RealSet) -> FaceModel:
        fit = real.vectors[real.group == FIT_SET]
        mean = fit.mean(axis=0)
        total = np.cov(fit, rowvar=False)
        multi = np.isin(real.group, ("lfw-dev", "lfw-dev-extra"))
        dev = []
        for ident in np.unique(real.identities[multi]):
            rows = real.vectors[multi & (real.identities == ident)]
            if len(rows) >= 2:
                dev.append((rows - rows.mean(axis=0)) * np.sqrt(len(rows) / (len(rows) - 1)))
        within = np.cov(np.concatenate(dev), rowvar=False, bias=True)
        return cls(mean, _sqrt_psd(total - within), _sqrt_psd(within))

    def performers(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.mean + rng.standard_normal((n, len(self.mean))) @ self.between.T

    def faces(self, rng: np.random.Generator, centres: np.ndarray) -> np.ndarray:
        noise = rng.standard_normal(centres.shape) @ self.within.T
        return split_normalise(centres + noise)


def _sqrt_psd(cov: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((cov + cov.T) / 2)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def enrolled_and_queries(real: RealSet) -> tuple[np.ndarray, np.ndarray]:
    """Row numbers of the enrolled photos (0.jpg of each multi-photo identity) and the queries
    (their other photos)."""
    multi = np.isin(real.group, ("lfw-dev", "lfw-dev-extra"))
    zero = real.files == "0.jpg"
    enrolled = np.nonzero(multi & zero)[0]
    known = set(real.identities[enrolled])
    queries = np.nonzero(multi & ~zero & np.isin(real.identities, list(known)))[0]
    return enrolled, queries


def _quantiles(x: np.ndarray) -> dict[str, float]:
    qs = np.quantile(x, [0.05, 0.25, 0.5, 0.75, 0.95])
    return {f"p{q}": round(float(v), 4) for q, v in zip((5, 25, 50, 75, 95), qs, strict=True)}


def fused(a: np.ndarray, b: np.ndarray, weights: dict[str, float]) -> np.ndarray:
    """Fused cosine distance (the matcher's) between the rows of `a` and of `b`, 256-d each."""
    w = np.array([weights[e] for e in EMBEDDERS]) / sum(weights[e] for e in EMBEDDERS)
    out = np.zeros((len(a), len(b)), dtype=np.float32)
    for k, name in enumerate(EMBEDDERS):
        s = slice(k * DIM, (k + 1) * DIM)
        out += np.float32(w[k]) * (1.0 - a[:, s] @ b[:, s].T)
        del name
    return out


def _stats(v: np.ndarray, same: list[tuple[int, int]], weights: dict[str, float]) -> dict[str, Any]:
    d = fused(v, v, weights)
    np.fill_diagonal(d, np.inf)
    iu = np.triu_indices(len(v), 1)
    per = {}
    for k, name in enumerate(EMBEDDERS):
        s = slice(k * DIM, (k + 1) * DIM)
        per[name] = _quantiles((1.0 - v[:, s] @ v[:, s].T)[iu])
    out: dict[str, Any] = {
        "random_pair_fused": _quantiles(d[iu]),
        "random_pair": per,
        "nearest_neighbour_fused": _quantiles(d.min(axis=1)),
    }
    if same:
        out["same_person_fused"] = _quantiles(np.array([d[i, j] for i, j in same]))
    return out


def check_model(model: FaceModel, real: RealSet, weights: dict[str, float]) -> dict[str, Any]:
    """Distance statistics of real vectors the fit never saw vs as many synthetic ones."""
    rng = np.random.default_rng(SEED + 1)
    enrolled, _ = enrolled_and_queries(real)
    held = np.concatenate([np.nonzero(real.group == CHECK_SET)[0], enrolled])
    real_v = split_normalise(real.vectors[held])
    # same-person pairs: real ones from lfw-dev-extra's photos (first two of each identity)
    extra = np.nonzero(real.group == "lfw-dev-extra")[0]
    pairs_real: list[np.ndarray] = []
    for ident in np.unique(real.identities[extra])[:200]:
        rows = extra[real.identities[extra] == ident][:2]
        if len(rows) == 2:
            pairs_real.append(split_normalise(real.vectors[rows]))
    n = len(real_v)
    synth = model.faces(rng, model.performers(rng, n))
    centres = model.performers(rng, len(pairs_real))
    twins = [model.faces(rng, np.stack([c, c])) for c in centres]
    same_real = np.concatenate(pairs_real)
    same_synth = np.concatenate(twins)
    pairs = [(2 * i, 2 * i + 1) for i in range(len(pairs_real))]
    real_stats = _stats(real_v, [], weights)
    synth_stats = _stats(synth, [], weights)
    real_stats["same_person_fused"] = _stats(same_real, pairs, weights)["same_person_fused"]
    synth_stats["same_person_fused"] = _stats(same_synth, pairs, weights)["same_person_fused"]
    return {
        "vectors": n,
        "same_person_pairs": len(pairs),
        "real": real_stats,
        "synthetic": synth_stats,
    }


def engine_infos() -> list[EmbedderInfo]:
    engine = FaceEngine.default()
    return [EmbedderInfo.from_embedder(e) for e in engine.embedders]


def build(root: Path, real: RealSet, model: FaceModel) -> dict[str, Any]:
    """Write the database under `root` through DatabaseWriter (unless cached); returns its
    meta: the performer id of each real identity, counts, build seconds."""
    meta_path = root / "scale-meta.json"
    if meta_path.is_file() and (root / "current" / "manifest.json").is_file():
        meta: dict[str, Any] = json.loads(meta_path.read_text())
        if meta.get("performers") == PERFORMERS and meta.get("faces") == FACES:
            return meta
    shutil.rmtree(root, ignore_errors=True)
    rng = np.random.default_rng(SEED)
    enrolled, _ = enrolled_and_queries(real)
    n_synth = PERFORMERS - len(enrolled)
    counts = 1 + rng.poisson((FACES - len(enrolled)) / n_synth - 1, n_synth)
    while (extra := int(counts.sum()) - (FACES - len(enrolled))) != 0:
        pick = rng.choice(np.nonzero(counts > 1)[0] if extra > 0 else n_synth, abs(extra))
        np.add.at(counts, pick, -1 if extra > 0 else 1)
        counts = np.maximum(counts, 1)
    # performer order: the real identities at random places among the synthetic ones
    order = rng.permutation(PERFORMERS)
    started = time.perf_counter()
    real_ids: dict[str, int] = {}
    chunk = 5_000
    with DatabaseWriter.open(root, engine_infos()) as writer:
        for start in range(0, PERFORMERS, chunk):
            slots = order[start : start + chunk]
            synth_slots = slots[slots >= len(enrolled)] - len(enrolled)
            centres = model.performers(rng, len(synth_slots))
            per = counts[synth_slots]
            faces = model.faces(rng, np.repeat(centres, per, axis=0))
            offsets = np.concatenate([[0], np.cumsum(per)])
            synth_at = {int(s): i for i, s in enumerate(synth_slots)}
            with writer.transaction():
                for slot in slots:
                    if slot < len(enrolled):
                        row = int(enrolled[slot])
                        name = str(real.identities[row]).replace("_", " ")
                        vectors = split_normalise(real.vectors[row : row + 1])
                        image = f"lfw:{real.identities[row]}/0.jpg"
                    else:
                        i = synth_at[int(slot) - len(enrolled)]
                        name = f"Synthetic Performer {int(slot):06d}"
                        vectors = faces[offsets[i] : offsets[i + 1]]
                        image = f"synthetic:{int(slot)}"
                    rec = PerformerRecord(name=name, stash_ids=[(ENDPOINT, f"scale-{int(slot)}")])
                    pid = writer.upsert_performer(rec, "stashdb", by_name=False)
                    if slot < len(enrolled):
                        real_ids[name] = pid
                    for k, v in enumerate(vectors):
                        halves = {
                            e: v[j * DIM : (j + 1) * DIM].tobytes() for j, e in enumerate(EMBEDDERS)
                        }
                        box = (0.0, 0.0, 100.0, 100.0)
                        writer.add_face_vectors(
                            pid, "stashdb", f"{image}#{k}", 0, box, 0.99, "{}", halves
                        )
            print(f"scale db: {start + len(slots)}/{PERFORMERS} performers", flush=True)
        rows_s = time.perf_counter() - started
        writer.publish()
    meta = {
        "performers": PERFORMERS,
        "faces": FACES,
        "real_performers": real_ids,
        "rows_seconds": round(rows_s, 1),
        "publish_seconds": round(time.perf_counter() - started - rows_s, 1),
    }
    meta_path.write_text(json.dumps(meta, indent=1) + "\n")
    return meta
