"""The identify cascade: the first embedder alone when decisive, the fused ensemble otherwise."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from matchsynth import World

from stash_sense.database import FaceDatabase
from stash_sense.faces.types import AnalyzedFace, DetectedFace
from stash_sense.matching import Matcher, Tiers
from stash_sense.matching.cascade import Cascade, CascadeIdentifier


class FakeEngine:
    """Hands out prepared faces; records which embedders were asked for."""

    def __init__(self, faces: list[AnalyzedFace]) -> None:
        self.embedder_names = ["alpha", "beta"]
        self.faces = faces
        self.calls: list[tuple[str, list[str]]] = []

    def detect(self, image: np.ndarray) -> list[DetectedFace]:
        return [f.detected for f in self.faces]

    def _pick(self, i: int, names: Sequence[str]) -> AnalyzedFace:
        f = self.faces[i]
        return AnalyzedFace(f.detected, f.quality, {n: f.embeddings[n] for n in names})

    def embed(
        self,
        image: np.ndarray,
        detected: Sequence[DetectedFace],
        names: Sequence[str] | None = None,
    ) -> list[AnalyzedFace]:
        wanted = list(names) if names is not None else self.embedder_names
        self.calls.append(("embed", wanted))
        return [self._pick(i, wanted) for i in range(len(detected))]

    def complete(
        self, image: np.ndarray, faces: Sequence[AnalyzedFace], names: Sequence[str] | None = None
    ) -> list[AnalyzedFace]:
        self.calls.append(("complete", list(names or self.embedder_names)))
        index = {id(f.detected): i for i, f in enumerate(self.faces)}
        return [self._pick(index[id(f.detected)], self.embedder_names) for f in faces]


@pytest.fixture(scope="module")
def world() -> World:
    return World(40, seed=3)


@pytest.fixture(scope="module")
def db(world: World, tmp_path_factory: pytest.TempPathFactory) -> FaceDatabase:
    return world.build(tmp_path_factory.mktemp("c") / "db")


IMAGE = np.zeros((8, 8, 3), np.uint8)
FIRST = Cascade(first="alpha")


def _matcher(db: FaceDatabase, max_distance: float) -> Matcher:
    """The fused matcher, with the first embedder deciding at most this far (margin 0.2)."""
    tiers = Tiers(first_embedder="alpha", first_max_distance=max_distance, first_min_margin=0.2)
    return Matcher(db, tiers=tiers)


def test_decisive_face_skips_the_other_embedders(world: World, db: FaceDatabase) -> None:
    engine = FakeEngine([world.face(5, noise=0.05)])
    [(face, matches)] = CascadeIdentifier(engine, _matcher(db, 0.3), FIRST).identify(IMAGE, top=3)  # type: ignore[arg-type]
    assert engine.calls == [("embed", ["alpha"])]
    assert list(face.embeddings) == ["alpha"]
    assert matches[0].name == "P5" and matches[0].tier == "high"
    assert all(m.tier == "unlikely" for m in matches[1:]) and len(matches) == 3
    assert matches[0].decided_by == ["alpha"] and list(matches[0].distances) == ["alpha"]


def test_uncertain_face_is_fused(world: World, db: FaceDatabase) -> None:
    faces = [world.face(7, noise=0.05), world.face(8, noise=0.05)]
    # nothing is decisive at distance <= 0: every face gets the full ensemble
    engine = FakeEngine(faces)
    out = CascadeIdentifier(engine, _matcher(db, 0.0), FIRST).identify(IMAGE, top=2)  # type: ignore[arg-type]
    assert engine.calls == [("embed", ["alpha"]), ("complete", ["alpha", "beta"])]
    assert [m[0].name for _, m in out] == ["P7", "P8"]
    fused = _matcher(db, 0.0).match_face(faces[0], top=2)
    assert [(m.name, m.distance, m.tier) for m in out[0][1]] == [
        (m.name, m.distance, m.tier) for m in fused
    ]
    assert out[0][1][0].decided_by == ["alpha", "beta"]
    assert set(out[0][0].embeddings) == {"alpha", "beta"}


def test_mixed_faces_keep_their_order(world: World, db: FaceDatabase) -> None:
    engine = FakeEngine([world.face(1, noise=1.5), world.face(2, noise=0.02)])
    out = CascadeIdentifier(engine, _matcher(db, 0.3), FIRST).identify(IMAGE, top=1)  # type: ignore[arg-type]
    assert [m[0].decided_by for _, m in out] == [["alpha", "beta"], ["alpha"]]
    assert out[1][1][0].name == "P2"


def test_no_cascade_when_the_matcher_has_one_embedder(world: World, db: FaceDatabase) -> None:
    engine = FakeEngine([world.face(3)])
    ident = CascadeIdentifier(engine, Matcher(db, ["alpha"]), Cascade(first="alpha"))  # type: ignore[arg-type]
    assert not ident.enabled
    [(_, matches)] = ident.identify(IMAGE, top=1)
    assert matches[0].decided_by == ["alpha"]
    assert engine.calls == [("embed", ["alpha", "beta"])]
    assert CascadeIdentifier(engine, Matcher(db), None).enabled is False  # type: ignore[arg-type]
