"""Clustering faces by person (threshold, cannot-link, fused distances)."""

from __future__ import annotations

import numpy as np
import pytest

from stash_sense.matching import Match
from stash_sense.scenes.assign import best_assignment, exclusive
from stash_sense.scenes.cluster import cluster, fused_distances
from stash_sense.scenes.identify import same_person


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


def test_an_embedder_without_a_weight_counts_as_matching_counts_it() -> None:
    # scene clustering fuses as the matcher does (matching.fusion.fuse): no weight, no say
    x = _unit([[1.0, 0.0], [0.0, 1.0]])
    y = _unit([[1.0, 0.0], [1.0, 0.0]])
    d = fused_distances({"x": x, "y": y}, {"x": 1.0})
    assert d[0, 1] == pytest.approx(1.0)


def _m(pid: int, distance: float, tier: str = "possible") -> Match:
    return Match(pid, f"P{pid}", None, distance, tier)


def test_one_performer_is_one_person_by_the_best_overall_assignment() -> None:
    """Person 0 is closest to performer 1, but person 1 has nobody else: the best assignment
    gives 1 to person 1 and 2 to person 0, and no performer is offered to two persons."""
    rankings = [[_m(1, 0.40), _m(2, 0.45)], [_m(1, 0.42), _m(3, 0.95)], [_m(1, 0.74), _m(4, 0.8)]]
    assert best_assignment(rankings) == [2, 1, 4]
    shown = exclusive(rankings, top=5)
    assert [[m.performer_id for m in r] for r in shown] == [[2], [1, 3], [4]]
    ids = [m.performer_id for r in shown for m in r]
    assert len(ids) == len(set(ids))
    # a match keeps the tier its own evidence earned
    assert shown[1][0].tier == "possible"


def test_many_persons_fall_back_to_greedy() -> None:
    rankings = [[_m(i, 0.3), _m(i + 1, 0.5)] for i in range(12)]
    assert best_assignment(rankings) == list(range(12))
    assert best_assignment([[], [_m(5, 0.2)]]) == [None, 5]


def test_clusters_that_the_matches_say_are_one_person_merge() -> None:
    """0 and 2 both match performer 7 at "likely" or better and never share a frame: one person.
    1 matches 7 too but shares a frame with 0: another person. 3's match is only "possible"."""
    frames = [{0, 1}, {1}, {5, 6}, {8}]
    rankings = [[_m(7, 0.3, "high")], [_m(7, 0.5, "likely")], [_m(7, 0.45, "likely")],
                [_m(7, 0.6, "possible")]]  # fmt: skip
    assert same_person(frames, rankings) == [[0, 2], [1], [3]]
    assert same_person([{0}, {1}], [[], [_m(2, 0.3, "high")]]) == [[0], [1]]
