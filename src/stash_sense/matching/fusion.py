"""The arithmetic of matching: candidate faces, fused distances, the per-performer aggregate.

See docs/matching.md for the formulas.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from voyager import Index

FloatArray = npt.NDArray[np.float32]
AGGREGATE_BEST = 3  # the performer distance is the mean over this many best query faces


#: Above this many stored faces the search widens to LARGE_QUERY_EF: on 1M random 512-d vectors
#: query_ef 100 found the source of a query among the 50 nearest 53% of the time, 400 did 91%
#: (7.5 ms a query; bench/bench_voyager.py, docs/matching.md section 1). Real faces need it
#: sooner: among 37,000 faces (bench/bench_scale.py) SFace's index found a real query's true
#: nearest face 85% of the time at 100, 98% at 400; the matcher then missed 1.0% of the true
#: performers an exact search finds, 0.2% at 400 (docs/scale.md).
#: At the size of the real database (110,000 performers, 370,000 faces an embedder) 400 found
#: 97.5% of what an exact search finds; the width was chosen on the tuning half as the first
#: whose every exact hit the matcher also found (400: 97.5%, 800: 99.0%, 1,600: 99.7%,
#: 6,400: 100%); held out, 6,400 found 99.6% (docs/scale.md).
LARGE_INDEX = 10_000
LARGE_QUERY_EF = 400
HUGE_INDEX = 100_000
HUGE_QUERY_EF = 6_400


def query_ef(k: int, stored: int) -> int:
    """How wide HNSW searches for `k` neighbours among `stored` vectors."""
    if stored > HUGE_INDEX:
        return max(2 * k, HUGE_QUERY_EF)
    return max(2 * k, 64, LARGE_QUERY_EF if stored > LARGE_INDEX else 0)


def candidates(index: Index, queries: FloatArray, k: int) -> set[int]:
    """Face ids among the `k` nearest of any query vector in one index (approximate search)."""
    n = index.num_elements
    if n == 0 or len(queries) == 0:
        return set()
    k = min(k, n)
    ids, _ = index.query(queries, k=k, query_ef=query_ef(k, n))
    return {int(i) for i in np.asarray(ids).reshape(-1)}


def exact_distances(index: Index, queries: FloatArray, face_ids: Sequence[int]) -> FloatArray:
    """Cosine distances (queries x faces) from the vectors the index stores."""
    vectors = np.asarray(index.get_vectors(list(face_ids)), dtype=np.float32)
    return np.clip(1.0 - queries @ vectors.T, 0.0, 2.0).astype(np.float32)


def fuse(per_embedder: Mapping[str, FloatArray], weights: Mapping[str, float]) -> FloatArray:
    """Weighted mean of per-embedder distances (weights renormalised over those present)."""
    names = list(per_embedder)
    w = np.array([max(float(weights.get(n, 0.0)), 0.0) for n in names], dtype=np.float32)
    if w.sum() <= 0:
        w = np.ones(len(names), dtype=np.float32)
    w = w / w.sum()
    out = np.zeros_like(per_embedder[names[0]])
    for weight, name in zip(w, names, strict=True):
        out += weight * per_embedder[name]
    return out


def best_per_performer(
    distances: FloatArray, face_performer: Sequence[int]
) -> tuple[list[int], FloatArray, npt.NDArray[np.int64]]:
    """For each query and performer, the smallest distance over the performer's faces.

    Returns (performer ids, best distances (queries x performers), column of the best face).
    """
    performers = sorted(set(face_performer))
    col = {pid: j for j, pid in enumerate(performers)}
    q = distances.shape[0]
    best = np.full((q, len(performers)), np.inf, dtype=np.float32)
    best_face = np.full((q, len(performers)), -1, dtype=np.int64)
    for i, pid in enumerate(face_performer):
        j = col[pid]
        better = distances[:, i] < best[:, j]
        best[better, j] = distances[better, i]
        best_face[better, j] = i
    return performers, best, best_face


def aggregate(best: FloatArray, keep: int = AGGREGATE_BEST) -> FloatArray:
    """Per performer, the mean of its `keep` smallest per-query distances (all if fewer)."""
    m = max(1, min(keep, best.shape[0]))
    return np.sort(best, axis=0)[:m].mean(axis=0).astype(np.float32)


def normalise(vectors: Sequence[FloatArray]) -> FloatArray:
    arr = np.asarray(np.stack([np.asarray(v, dtype=np.float32).reshape(-1) for v in vectors]))
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (arr / norms).astype(np.float32)
