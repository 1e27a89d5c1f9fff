"""Matches already on the Stash scene are marked by shared stash ids, and spreading times."""

from __future__ import annotations

import numpy as np

from stash_sense.matching import Match
from stash_sense.scenes.identify import Person, SceneResult
from stash_sense.scenes.stash import mark_on_scene, spread
from stash_sense.sources.stash import StashId, StashPerformer, StashScene

STASHDB = "https://stashdb.org/graphql"
FANSDB = "https://fansdb.cc/graphql"


def _match(pid: int, name: str, stash_ids: list[tuple[str, str]]) -> Match:
    ids = [{"endpoint": e, "stash_id": s} for e, s in stash_ids]
    return Match(pid, name, None, 0.3, "high", ids)


def test_marks_by_any_shared_stash_id() -> None:
    scene = StashScene(
        "7", None, None, None, None, None, [],
        [StashPerformer("41", "A", [StashId(FANSDB, "fa")]), StashPerformer("42", "No ids")],
    )  # fmt: skip
    matches = [
        _match(1, "A", [(STASHDB, "sa"), (FANSDB, "fa")]),
        _match(2, "B", [(STASHDB, "sb")]),
        _match(3, "No ids", []),
    ]
    person = Person(0, [], matches, "")
    result = SceneResult("7", "video", 1, 1, 0.1, [person])
    mark_on_scene(result, scene)
    marks = [(m["name"], m["already_on_scene"], m["stash_performer_id"])
             for m in result.as_dict()["persons"][0]["matches"]]  # fmt: skip
    assert marks == [("A", True, "41"), ("B", False, None), ("No ids", False, None)]


def test_spread_keeps_order_and_count() -> None:
    values = [float(v) for v in np.arange(100)]
    picked = spread(values, 10)
    assert len(picked) == 10 and picked == sorted(picked)
    assert picked[0] < 10 and picked[-1] > 90
    assert spread([1.0, 2.0], 5) == [1.0, 2.0]
