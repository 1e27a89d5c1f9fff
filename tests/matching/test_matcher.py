"""Matcher on a real published database (SQLite + Voyager) of synthetic performers."""

from __future__ import annotations

from pathlib import Path

import pytest
from matchsynth import ENDPOINT, World

from stash_sense.database import DatabaseError, FaceDatabase
from stash_sense.matching import Matcher, Tiers


@pytest.fixture(scope="module")
def world() -> World:
    return World(60)


@pytest.fixture(scope="module")
def db(world: World, tmp_path_factory: pytest.TempPathFactory) -> FaceDatabase:
    return world.build(tmp_path_factory.mktemp("m") / "db")


def test_rank1_and_match_fields(world: World, db: FaceDatabase) -> None:
    matcher = Matcher(db)
    right = 0
    for i in range(60):
        matches = matcher.match_face(world.face(i), top=3)
        assert len(matches) == 3
        assert [m.distance for m in matches] == sorted(m.distance for m in matches)
        right += matches[0].name == f"P{i}"
    assert right >= 58
    m = matcher.match_face(world.face(4, noise=0.1), top=1)[0]
    assert m.name == "P4" and m.tier == "high" and m.distance < 0.4
    assert m.stash_ids == [{"endpoint": ENDPOINT, "stash_id": "id4"}]
    assert m.aliases == ["alias4"] and m.image_url == "https://img/4.jpg"
    assert set(m.distances) == {"alpha", "beta"}
    assert m.faces_matched == 1


def test_stranger_gets_no_confident_tier(world: World, db: FaceDatabase) -> None:
    for _ in range(20):
        top = Matcher(db).match_face(world.stranger(), top=1)[0]
        assert top.tier != "high"
        assert top.distance > 0.45


def test_several_faces_of_one_person(world: World, db: FaceDatabase) -> None:
    faces = [world.face(9, noise=0.8) for _ in range(6)]
    matches = Matcher(db).match_faces(faces, top=2)
    assert matches[0].name == "P9"
    assert matches[0].faces_matched >= 3
    assert Matcher(db).match_faces([], top=2) == []


def test_each_embedder_alone_and_custom_tiers(world: World, db: FaceDatabase) -> None:
    face = world.face(11)
    for name in ("alpha", "beta"):
        m = Matcher(db, [name]).match_face(face, top=1)[0]
        assert m.name == "P11" and list(m.distances) == [name]
    strict = Matcher(db, tiers=Tiers(0.0, 0.0, 0.0)).match_face(face, top=1)[0]
    assert strict.tier == "unlikely"
    with pytest.raises(DatabaseError, match="no gamma vectors"):
        Matcher(db, ["gamma"])


def test_empty_database_matches_nothing(tmp_path: Path) -> None:
    empty = World(0).build(tmp_path / "empty")
    assert Matcher(empty).match_face(World(1).face(0)) == []
