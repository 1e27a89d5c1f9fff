"""Face evidence between records: the fused distance of their nearest faces (each embedder's
cosine distance weighted by the database's fusion weights).

Candidate pairs come from one vector per face: the embedders' unit vectors, each scaled by the
square root of its fusion weight and concatenated, so that one minus the inner product of two
such vectors is exactly their fused distance. Small sets are compared exactly (all pairs, in
chunks); from `EXACT_BELOW` faces on, a Voyager (HNSW) index of those vectors gives each face's
nearest neighbours instead, widening the search for a face whose neighbours are all still within
the distance (up to `MAX_NEIGHBOURS`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from stash_sense.graph.model import SourceRecord

CHUNK = 1024
#: below this many faces every pair is compared (exact; on 2 cores quicker than building an
#: index up to about this size: 30,000 faces took 17 CPU-s all pairs, 85 in a deep index)
EXACT_BELOW = 100_000
#: neighbours asked for first, and at most, per face
FIRST_NEIGHBOURS = 16
MAX_NEIGHBOURS = 512
#: the index's links per node and build/search depth (Voyager's defaults: M 12, ef 200); the
#: index only proposes candidates (their distances are exact), so a shallow one does
INDEX_M = 12
INDEX_EF = 64


def fused_vectors(
    records: Sequence[SourceRecord], fusion: Mapping[str, float]
) -> tuple[np.ndarray, np.ndarray]:
    """(owner record index per face, (faces, dims) fused vectors) of the records' faces."""
    names = [n for n, w in fusion.items() if w > 0]
    total = sum(float(fusion[n]) for n in names)
    owner: list[int] = []
    blocks: list[np.ndarray] = []
    for i, rec in enumerate(records):
        if not names or not all(n in rec.faces and len(rec.faces[n]) for n in names):
            continue
        count = min(len(rec.faces[n]) for n in names)
        owner.extend([i] * count)
        blocks.append(
            np.concatenate(
                [
                    np.sqrt(float(fusion[n]) / total) * np.asarray(rec.faces[n][:count], np.float32)
                    for n in names
                ],
                axis=1,
            )
        )
    if not owner:
        return np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
    return np.asarray(owner, np.int64), np.concatenate(blocks).astype(np.float32)


def nearest_face_pairs(
    records: Sequence[SourceRecord],
    fusion: Mapping[str, float],
    within: float,
    *,
    exact_below: int = EXACT_BELOW,
    rows: Sequence[int] | None = None,
) -> dict[tuple[int, int], float]:
    """{(i, j): distance} for records i < j of different endpoints whose nearest faces are
    within `within` (fused cosine distance): all such pairs below `exact_below` faces; from it
    on, those among each face's nearest neighbours in an index. `rows`: only pairs with one of
    these records (an incremental relink; compared exactly, a few rows against all)."""
    owners, vectors = fused_vectors(records, fusion)
    if not len(owners):
        return {}
    endpoint_of = {ep: n for n, ep in enumerate(sorted({r.endpoint for r in records}))}
    endpoints = np.asarray([endpoint_of[records[i].endpoint] for i in owners.tolist()])
    if rows is not None:
        queries = np.nonzero(np.isin(owners, np.asarray(list(rows), np.int64)))[0]
        a, b, dist = _exact(vectors, within, queries)
    elif len(owners) < exact_below:
        a, b, dist = _exact(vectors, within)
    else:
        a, b, dist = _indexed(vectors, within)
    keep = (owners[a] != owners[b]) & (endpoints[a] != endpoints[b])
    i, j, dist = owners[a][keep], owners[b][keep], dist[keep]
    i, j = np.minimum(i, j), np.maximum(i, j)
    order = np.lexsort((dist, j, i))  # by pair, nearest first: keep each pair's first row
    i, j, dist = i[order], j[order], dist[order]
    first = np.ones(len(i), bool)
    first[1:] = (i[1:] != i[:-1]) | (j[1:] != j[:-1])
    return {
        (x, y): float(d)
        for x, y, d in zip(i[first].tolist(), j[first].tolist(), dist[first].tolist(), strict=True)
    }


def _exact(
    vectors: np.ndarray, within: float, queries: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pair of rows (a < b) within `within`, or every row within `within` of each of
    `queries`; in chunks so memory stays bounded."""
    found_a: list[np.ndarray] = [np.zeros(0, np.int64)]
    found_b: list[np.ndarray] = [np.zeros(0, np.int64)]
    found_d: list[np.ndarray] = [np.zeros(0, np.float32)]
    asked = np.arange(len(vectors)) if queries is None else queries
    for start in range(0, len(asked), CHUNK):
        chunk = asked[start : start + CHUNK]
        dist = 1.0 - vectors[chunk] @ vectors.T
        rows, cols = np.nonzero(dist <= within)
        keep = chunk[rows] < cols if queries is None else chunk[rows] != cols
        found_a.append(chunk[rows[keep]])
        found_b.append(cols[keep])
        found_d.append(dist[rows[keep], cols[keep]])
    return np.concatenate(found_a), np.concatenate(found_b), np.concatenate(found_d)


def _indexed(vectors: np.ndarray, within: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row's nearest rows within `within` from a Voyager index (inner-product space: its
    distance is one minus the inner product, the fused distance itself)."""
    from voyager import Index, Space, StorageDataType

    index = Index(
        Space.InnerProduct,
        num_dimensions=vectors.shape[1],
        M=INDEX_M,
        ef_construction=INDEX_EF,
        random_seed=1,
        storage_data_type=StorageDataType.Float32,
    )
    index.add_items(vectors, np.arange(len(vectors)))
    found_a: list[np.ndarray] = []
    found_b: list[np.ndarray] = []
    found_d: list[np.ndarray] = []
    todo = np.arange(len(vectors))
    k = min(FIRST_NEIGHBOURS, len(vectors))
    while len(todo):
        ids, dist = index.query(vectors[todo], k=k, query_ef=max(INDEX_EF, 2 * k))
        near = dist <= within
        rows, cols = np.nonzero(near)
        found_a.append(todo[rows])
        found_b.append(ids[rows, cols].astype(np.int64))
        found_d.append(dist[rows, cols])
        if k >= min(MAX_NEIGHBOURS, len(vectors)):
            break
        todo = todo[near[:, -1]]  # all k still within: ask again, wider (its rows repeat; the
        k = min(4 * k, MAX_NEIGHBOURS, len(vectors))  # caller keeps each pair's nearest once)
    return np.concatenate(found_a), np.concatenate(found_b), np.concatenate(found_d)


def face_distance(a: SourceRecord, b: SourceRecord, fusion: Mapping[str, float]) -> float | None:
    """The fused distance of two records' nearest faces; None when either has none."""
    names = [n for n, w in fusion.items() if w > 0]
    if not all(len(a.faces.get(n, ())) and len(b.faces.get(n, ())) for n in names):
        return None
    total = sum(float(fusion[n]) for n in names)
    dist: np.ndarray | None = None
    for n in names:
        part = (float(fusion[n]) / total) * (
            1.0 - np.asarray(a.faces[n]) @ np.asarray(b.faces[n]).T
        )
        dist = part if dist is None else dist + part
    return None if dist is None else float(dist.min())
