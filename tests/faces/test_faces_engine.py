"""FaceEngine end to end on real photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np

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
