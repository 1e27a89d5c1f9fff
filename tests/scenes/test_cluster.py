"""Clustering faces by person (threshold, cannot-link, fused distances); the open-set guard."""

from __future__ import annotations

import numpy as np
import pytest

from stash_sense.matching import Match
from stash_sense.scenes.cluster import cluster, fused_distances
from stash_sense.scenes.identify import open_set_guard


def _unit(rows: list[list[float]]) -> np.ndarray:
    v = np.array(rows, dtype=np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_two_people_over_frames() -> None:
    a, b = [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]
    vectors = {"x": _unit([a, b, [1.0, 0.1, 0.0], [0.1, 1.0, 0.0]])}
    d = fused_distances(vectors)
    assert cluster(d, [0, 0, 1, 1]) == [0, 1, 0, 1]


def test_faces_of_one_frame_never_merge() -> None:
    same = _unit([[1.0, 0.0], [1.0, 0.01]])
    d = fused_distances({"x": same})
    assert cluster(d, [0, 1]) == [0, 0]
    assert cluster(d, [0, 0]) == [0, 1]


def test_threshold_and_empty() -> None:
    d = fused_distances({"x": _unit([[1.0, 0.0], [0.6, 0.8]])})  # distance 0.4
    assert cluster(d, threshold=0.5) == [0, 0]
    assert cluster(d, threshold=0.3) == [0, 1]
    assert cluster(np.zeros((0, 0), np.float32)) == []


def test_fused_distance_weights() -> None:
    x = _unit([[1.0, 0.0], [0.0, 1.0]])
    y = _unit([[1.0, 0.0], [1.0, 0.0]])
    d = fused_distances({"x": x, "y": y}, {"x": 0.75, "y": 0.25})
    assert d[0, 1] == pytest.approx(0.75)
    with pytest.raises(ValueError):
        fused_distances({})


def _m(name: str, distance: float, tier: str) -> Match:
    return Match(0, name, None, distance, tier)


def test_open_set_guard_demotes_a_likely_match_that_does_not_stand_out() -> None:
    close = [_m("A", 0.70, "likely"), _m("B", 0.72, "likely"), _m("C", 0.79, "possible")]
    open_set_guard(close)
    assert [m.tier for m in close] == ["possible", "possible", "possible"]
    clear = [_m("A", 0.62, "likely"), _m("B", 0.75, "likely")]
    open_set_guard(clear)
    assert [m.tier for m in clear] == ["likely", "likely"]
    high = [_m("A", 0.50, "high"), _m("B", 0.52, "likely")]
    open_set_guard(high)
    assert [m.tier for m in high] == ["high", "likely"]
    open_set_guard([_m("A", 0.7, "likely")])
