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


def test_two_workers_give_the_vectors_of_one(lfw_dev: Path) -> None:
    """Faces of several photos embedded across threads by an engine whose dlib also runs in a
    worker process: the vectors of an engine that runs everything in this process."""
    from concurrent.futures import ThreadPoolExecutor

    images = [load_image(p) for p in sorted(lfw_dev.glob("*/0.jpg"))[:6]]

    def vectors(engine: FaceEngine) -> list[dict[str, np.ndarray]]:
        aligned = [a for image in images for a in engine.align(image, engine.detect(image))]
        with ThreadPoolExecutor(2) as pool:
            engine.embed_aligned(aligned, pool=pool)
        return [a.face.embeddings for a in aligned]

    with FaceEngine.create(workers=2) as spread:
        assert spread.embedders[1].name == "dlib"
        spread.embedders[1].lanes.start(timeout=120)  # type: ignore[attr-defined]
        got = vectors(spread)
    with FaceEngine.create(workers=1) as one:
        want = vectors(one)
    assert len(got) == len(want) >= 6
    for a, b in zip(got, want, strict=True):
        assert set(a) == set(b) == {"sface", "dlib"}
        for name in a:
            np.testing.assert_array_equal(a[name], b[name])
