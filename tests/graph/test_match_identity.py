"""Matches carry their identity: a scene result's matches (and an image's) get the identity of
their performer row from the database's graph; without a graph they stay as they were."""

from __future__ import annotations

from pathlib import Path

from graphdb import make_database

from stash_sense.app.match_identity import scene_with_identities, with_identities
from stash_sense.app.results import MatchResult, PersonResult, SceneResult
from stash_sense.graph import build_graph, identity_for_stash_id
from stash_sense.graph.model import FANSDB, STASHDB, THEPORNDB


def match(performer_id: int) -> MatchResult:
    return MatchResult(
        performer_id=performer_id,
        name="x",
        disambiguation=None,
        distance=0.1,
        tier="high",
        stash_ids=[],
        aliases=[],
        image_url=None,
        country=None,
        gender=None,
        faces_matched=1,
        distances={},
        decided_by=[],
    )


def test_scene_matches_carry_the_identity(tmp_path: Path) -> None:
    db = make_database(tmp_path / "db")
    assert with_identities([match(1)], db)[0].identity is None  # no graph yet
    build_graph(db)
    jane = identity_for_stash_id(db / "graph.sqlite", FANSDB, "fd-jane")
    assert jane is not None
    fans_row = next(r.performer_id for r in jane.records if r.endpoint == FANSDB)
    assert fans_row is not None
    person = PersonResult(
        person_id=0, frames=1, times=[0.0], faces=1, face_jpeg="", matches=[match(fans_row)]
    )
    scene = SceneResult(
        scene_id=None,
        source="video",
        frames_sampled=1,
        faces_detected=1,
        elapsed_s=0.1,
        persons=[person],
    )
    generation = (db / "current").resolve()  # the matcher's database opens a generation
    found = scene_with_identities(scene, generation).persons[0].matches[0].identity
    assert found is not None and found.id == jane.id and found.faces == 3
    assert [(s.endpoint, s.stash_id) for s in found.stash_ids] == [
        (FANSDB, "fd-jane"),
        (STASHDB, "sd-jane"),
        (THEPORNDB, "tp-jane"),
    ]
    assert found.names[FANSDB] == ["Janie D"]
