"""FaceEngine end to end on real photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stash_sense.faces import FaceEngine, load_image


def test_default_engine_analyzes_a_face(engine: FaceEngine, lfw_dev: Path) -> None:
    image = load_image(lfw_dev / "Abdoulaye_Wade" / "0.jpg")
    faces = engine.analyze(image)
    assert faces, "no face found"
    face = faces[0]
    assert set(face.embeddings) == set(engine.embedder_names)
    for embedder in engine.embedders:
        vector = face.embeddings[embedder.name]
        assert vector.dtype == np.float32
        assert vector.shape == (embedder.dim,)
        assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-4
    assert face.quality.usable
    areas = [f.box.area for f in faces]
    assert areas == sorted(areas, reverse=True)


def test_default_is_shared() -> None:
    assert FaceEngine.default() is FaceEngine.default()


def test_embed_some_then_complete(engine: FaceEngine, lfw_dev: Path) -> None:
    image = load_image(lfw_dev / "Abdoulaye_Wade" / "0.jpg")
    full = engine.analyze(image)
    first = engine.embed(image, [f.detected for f in full], ["sface"])
    assert [set(f.embeddings) for f in first] == [{"sface"}] * len(full)
    done = engine.complete(image, first)
    for a, b in zip(done, full, strict=True):
        assert set(a.embeddings) == set(engine.embedder_names)
        for name in engine.embedder_names:
            assert np.allclose(a.embeddings[name], b.embeddings[name], atol=1e-5)
    assert engine.complete(image, done) == done
    with pytest.raises(ValueError, match="no embedder"):
        engine.embed(image, [full[0].detected], ["nope"])
