"""Group the faces of a scene by person: average-linkage agglomerative clustering on distances.

Two faces seen in the same frame are never the same person (a cannot-link constraint), so two
clusters that share a frame are never merged. Merging stops when the closest pair of clusters is
farther apart than the threshold.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from stash_sense.matching.fusion import fuse

FloatArray = npt.NDArray[np.float32]

#: Cosine distance (scenes cluster on SFace alone) below which two clusters are one person.
#: Chosen on the eval scenes' sprite sheets and video frames (bench/bench_scene.py): 0.45 to 0.65
#: found the same people with no absent one reported; 0.55 sits in the middle.
DEFAULT_THRESHOLD = 0.55


def fused_distances(
    vectors: Mapping[str, FloatArray], weights: Mapping[str, float] | None = None
) -> FloatArray:
    """Pairwise fused cosine distance: 1 - a.b per embedder, fused as matching fuses a query's
    distances (`matching.fusion.fuse`; no weights: each embedder counts the same)."""
    if not vectors:
        raise ValueError("no embedder vectors to cluster on")
    per_embedder = {}
    for name, v in vectors.items():
        unit = np.asarray(v, dtype=np.float32)
        per_embedder[name] = 1.0 - unit @ unit.T
    out = fuse(per_embedder, weights or {})
    np.fill_diagonal(out, 0.0)
    return np.clip(out, 0.0, 2.0)


def cluster(
    distances: FloatArray, groups: Sequence[int] | None = None, threshold: float = DEFAULT_THRESHOLD
) -> list[int]:
    """Cluster label (0, 1, ... by order of first face) for each face.

    `distances` is the symmetric (n, n) face distance matrix; faces with equal `groups` values
    (frame indices) may not share a cluster.
    """
    n = distances.shape[0]
    if n == 0:
        return []
    d = np.array(distances, dtype=np.float64)
    conflict = np.zeros((n, n), dtype=bool)
    if groups is not None:
        g = np.asarray(groups)
        conflict = g[:, None] == g[None, :]
    sizes = np.ones(n, dtype=np.float64)
    active = np.ones(n, dtype=bool)
    members: list[list[int]] = [[i] for i in range(n)]
    blocked = np.inf
    while True:
        work = np.where(conflict | ~active[:, None] | ~active[None, :], blocked, d)
        np.fill_diagonal(work, blocked)
        flat = int(np.argmin(work))
        i, j = divmod(flat, n)
        if not work[i, j] <= threshold:
            break
        # Lance-Williams update for average linkage: merge j into i
        d[i, :] = (sizes[i] * d[i, :] + sizes[j] * d[j, :]) / (sizes[i] + sizes[j])
        d[:, i] = d[i, :]
        conflict[i, :] |= conflict[j, :]
        conflict[:, i] = conflict[i, :]
        conflict[i, i] = True
        sizes[i] += sizes[j]
        active[j] = False
        members[i].extend(members[j])
        members[j] = []
    labels = [-1] * n
    order = sorted((min(m), k) for k, m in enumerate(members) if m)
    for label, (_, k) in enumerate(order):
        for face in members[k]:
            labels[face] = label
    return labels
