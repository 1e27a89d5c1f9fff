"""Each embedder: right shape, unit length, and the same person nearer than other people."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stash_sense.faces import FaceEngine, load_image
from stash_sense.faces.embedders import EMBEDDERS, ArcFaceEmbedder, Embedder, make_embedder
from stash_sense.faces.embedders.base import NetPool

PEOPLE = ["Abdoulaye_Wade", "Adam_Sandler", "Abdullah_Gul", "Al_Gore", "Alvaro_Uribe"]


def _embedders() -> list[str]:
    names = ["sface", "facenet"]
    if ArcFaceEmbedder.available():
        names.append("arcface")
    return names


@pytest.fixture(scope="module")
def crops(engine: FaceEngine, lfw_dev: Path) -> dict[str, list[tuple[str, object]]]:
    """(identity, (image, landmarks)) for two photos of each of a few people."""
    out: dict[str, list[tuple[str, object]]] = {}
    people = [p for p in PEOPLE if (lfw_dev / p).is_dir()]
    assert len(people) >= 4
    items = []
    for person in people:
        for k in ("0.jpg", "1.jpg"):
            image = load_image(lfw_dev / person / k)
            items.append((person, (image, engine.detect(image)[0].landmarks)))
    out["items"] = items
    return out


@pytest.mark.parametrize("name", _embedders())
def test_same_person_is_nearer(name: str, crops: dict[str, list[tuple[str, object]]]) -> None:
    embedder: Embedder = make_embedder(name)
    items = crops["items"]
    batch = [embedder.align(img, lm) for _, (img, lm) in items]  # type: ignore[misc]
    assert batch[0].shape == (embedder.input_size, embedder.input_size, 3)
    vectors = embedder.embed(batch)
    assert vectors.shape == (len(items), embedder.dim) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    ids = [person for person, _ in items]
    dist = 1.0 - vectors @ vectors.T
    for i in range(len(items)):
        j = i ^ 1  # the other photo of the same person
        others = [dist[i, k] for k in range(len(items)) if ids[k] != ids[i]]
        assert dist[i, j] < min(others), (name, ids[i], dist[i, j], min(others))


@pytest.mark.parametrize("name", _embedders())
def test_flip_and_batch_consistency(name: str, crops: dict[str, list[tuple[str, object]]]) -> None:
    plain = make_embedder(name)
    flipped = make_embedder(name, flip=True)
    img, lm = crops["items"][0][1]  # type: ignore[misc]
    crop = plain.align(img, lm)
    one = plain.embed([crop])
    two = plain.embed([crop, crop])
    assert np.allclose(one[0], two[1], atol=1e-4)
    f = flipped.embed([crop])
    assert f.shape == one.shape
    assert float(f[0] @ one[0]) > 0.8  # the mirror of a face is still that face
    assert plain.embed([]).shape == (0, plain.dim)
    assert flipped.version.endswith("+flip")


def test_unknown_embedder() -> None:
    with pytest.raises(ValueError, match="unknown embedder"):
        make_embedder("nope")
    assert set(EMBEDDERS) >= {"sface", "facenet", "arcface"}


def test_net_pool_limits_instances() -> None:
    import threading

    made: list[int] = []
    pool: NetPool[int] = NetPool(lambda: made.append(1) or len(made), limit=2)
    barrier = threading.Barrier(4)

    def work() -> None:
        barrier.wait()
        for _ in range(50):
            with pool.borrow() as n:
                assert n in (1, 2)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert 1 <= len(made) <= 2
