"""Face evidence between records: the fused distance of their nearest faces (each embedder's
cosine distance weighted by the database's fusion weights), found for every pair of records of
different endpoints within a distance, in chunks so memory stays bounded."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from stash_sense.graph.model import SourceRecord

CHUNK = 1024


def nearest_face_pairs(
    records: Sequence[SourceRecord], fusion: Mapping[str, float], within: float
) -> dict[tuple[int, int], float]:
    """{(i, j): distance} for records i < j of different endpoints whose nearest faces are
    within `within` (fused cosine distance)."""
    names = [n for n, w in fusion.items() if w > 0]
    owner: list[int] = []
    blocks: dict[str, list[np.ndarray]] = {n: [] for n in names}
    for i, rec in enumerate(records):
        if not all(n in rec.faces and len(rec.faces[n]) for n in names):
            continue
        count = min(len(rec.faces[n]) for n in names)
        owner.extend([i] * count)
        for n in names:
            blocks[n].append(np.asarray(rec.faces[n][:count], np.float32))
    if not owner:
        return {}
    vectors = {n: np.concatenate(blocks[n]) for n in names}
    weights = {n: float(fusion[n]) / sum(float(fusion[m]) for m in names) for n in names}
    owners = np.asarray(owner)
    endpoints = np.asarray([records[i].endpoint for i in owner])
    found: dict[tuple[int, int], float] = {}
    for start in range(0, len(owner), CHUNK):
        stop = min(start + CHUNK, len(owner))
        dist = np.zeros((stop - start, len(owner)), np.float32)
        for n in names:
            dist += weights[n] * (1.0 - vectors[n][start:stop] @ vectors[n].T)
        rows, cols = np.nonzero(dist <= within)
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            i, j = int(owners[start + r]), int(owners[c])
            if i >= j or endpoints[start + r] == endpoints[c]:
                continue
            d = float(dist[r, c])
            if d < found.get((i, j), np.inf):
                found[(i, j)] = d
    return found


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
