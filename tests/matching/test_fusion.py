"""The arithmetic of matching: fusion weights, best face per performer, aggregation over faces."""

from __future__ import annotations

import numpy as np
from pytest import MonkeyPatch

from stash_sense.matching.fusion import (
    HUGE_INDEX,
    HUGE_QUERY_EF,
    LARGE_INDEX,
    LARGE_QUERY_EF,
    aggregate,
    best_per_performer,
    fuse,
    query_ef,
)


def test_fuse_is_a_weighted_mean_renormalised_over_present_embedders() -> None:
    a = np.array([[0.2, 0.6]], np.float32)
    b = np.array([[0.4, 0.2]], np.float32)
    assert np.allclose(fuse({"a": a, "b": b}, {"a": 0.75, "b": 0.25}), [[0.25, 0.5]])
    assert np.allclose(fuse({"a": a}, {"a": 0.75, "b": 0.25}), a)
    assert np.allclose(fuse({"a": a, "b": b}, {}), [[0.3, 0.4]])


def test_best_face_per_performer() -> None:
    d = np.array([[0.5, 0.2, 0.9], [0.1, 0.7, 0.8]], np.float32)
    performers, best, best_face = best_per_performer(d, [7, 7, 3])
    assert performers == [3, 7]
    assert np.allclose(best, [[0.9, 0.2], [0.8, 0.1]])
    assert best_face.tolist() == [[2, 1], [2, 0]]


def test_consistent_faces_outweigh_one_lucky_face() -> None:
    # performer 0: one query face very close, the others far; performer 1: all fairly close
    best = np.array([[0.20, 0.35], [0.90, 0.36], [0.95, 0.34], [0.90, 0.40]], np.float32)
    score = aggregate(best)
    assert score[1] < score[0]
    assert np.isclose(score[1], np.mean([0.34, 0.35, 0.36]))
    assert np.allclose(aggregate(best[:1]), best[0])  # one query face: its own distances


def test_large_indices_are_searched_wider() -> None:
    assert query_ef(50, 1_000) == 100 and query_ef(5, 10) == 64
    assert query_ef(50, LARGE_INDEX + 1) == LARGE_QUERY_EF


def test_a_database_of_37000_real_faces_is_searched_wide() -> None:
    # at 37,000 faces the narrow search missed 1% of the true performers (docs/scale.md)
    assert query_ef(50, 37_000) == LARGE_QUERY_EF


def test_a_database_the_size_of_stashdb_is_searched_wider_still() -> None:
    # at 370,000 faces the width of 400 missed 2.5% of the true performers (docs/scale.md)
    assert query_ef(50, 370_000) == HUGE_QUERY_EF
    assert query_ef(50, HUGE_INDEX) == LARGE_QUERY_EF


def test_candidates_of_a_large_index_hold_the_nearest_faces(monkeypatch: MonkeyPatch) -> None:
    """A real Voyager index past the (lowered) large-index line: the wide search is exact here."""
    from voyager import Index, Space

    from stash_sense.matching import fusion

    monkeypatch.setattr(fusion, "LARGE_INDEX", 1_000)
    rng = np.random.default_rng(11)
    stored = rng.normal(size=(3_000, 32)).astype(np.float32)
    stored /= np.linalg.norm(stored, axis=1, keepdims=True)
    index = Index(Space.Cosine, num_dimensions=32)
    index.add_items(stored, list(range(len(stored))))
    queries = stored[:20] + 0.3 * rng.normal(size=(20, 32)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    found = fusion.candidates(index, queries, 10)
    exact = np.argsort(1.0 - queries @ stored.T, axis=1)[:, :10]
    assert {int(i) for i in exact.reshape(-1)} <= found
