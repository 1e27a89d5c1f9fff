"""Face candidates: the Voyager index proposes the same record pairs, at the same distances, as
the exact all-pairs pass, including a face with more neighbours within the distance than the
first search asks for (the search widens)."""

from __future__ import annotations

import numpy as np

from stash_sense.graph.faces import FIRST_NEIGHBOURS, nearest_face_pairs
from stash_sense.graph.model import SourceRecord

FUSION = {"a": 0.25, "b": 0.75}


def unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(np.float32)


def people(n: int, endpoints: int, noise: float, seed: int) -> list[SourceRecord]:
    rng = np.random.default_rng(seed)
    out = []
    for p in range(n):
        centre = {k: rng.normal(size=64) for k in FUSION}
        for e in range(endpoints):
            faces = {k: unit(c + noise * rng.normal(size=(2, 64))) for k, c in centre.items()}
            out.append(SourceRecord(f"ep{e}", f"{p}", f"name {p}", faces=faces))
    return out


def test_the_index_finds_what_all_pairs_find() -> None:
    records = people(400, 3, 0.35, 1)
    exact = nearest_face_pairs(records, FUSION, 0.26, exact_below=10**9)
    indexed = nearest_face_pairs(records, FUSION, 0.26, exact_below=0)
    assert len(exact) >= 1000  # each person's three records pair up
    assert indexed.keys() == exact.keys()
    assert max(abs(indexed[k] - exact[k]) for k in exact) < 1e-4


def test_a_crowded_neighbourhood_widens_the_search() -> None:
    crowd = people(1, 3 * FIRST_NEIGHBOURS, 0.05, 2)  # one person on 48 endpoints
    others = people(300, 2, 0.35, 3)
    records = crowd + others
    exact = nearest_face_pairs(records, FUSION, 0.26, exact_below=10**9)
    indexed = nearest_face_pairs(records, FUSION, 0.26, exact_below=0)
    n = len(crowd)
    assert sum(1 for i, j in exact if j < n) == n * (n - 1) // 2
    assert indexed.keys() == exact.keys()
