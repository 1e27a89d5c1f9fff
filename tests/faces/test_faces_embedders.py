"""Each embedder: right shape, unit length, and the same person nearer than other people."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stash_sense.faces import FaceEngine, load_image
from stash_sense.faces.embedders import EMBEDDERS, ArcFaceEmbedder, Embedder, make_embedder
from stash_sense.faces.embedders.base import NetPool
from stash_sense.faces.embedders.dlib_resnet import box_around
from stash_sense.faces.types import Box

PEOPLE = ["Abdoulaye_Wade", "Adam_Sandler", "Abdullah_Gul", "Al_Gore", "Alvaro_Uribe"]


def _embedders() -> list[str]:
    names = ["sface", "facenet", "dlib"]
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
    assert set(EMBEDDERS) >= {"sface", "facenet", "dlib", "arcface"}


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


def test_dlib_chip_is_dlibs_own_and_a_missing_box_comes_from_the_landmarks(
    crops: dict[str, list[tuple[str, object]]],
) -> None:
    """The dlib embedder's chip is the one dlib makes (its 5-point predictor inside the face box,
    get_face_chip); without a box, one around the landmarks gives nearly the same vector."""
    import dlib
    import face_recognition_models

    embedder = make_embedder("dlib")
    predictor = dlib.shape_predictor(
        face_recognition_models.pose_predictor_five_point_model_location()
    )
    for _, (img, lm) in crops["items"][:4]:  # type: ignore[misc]
        box = box_around(lm)
        rgb = np.ascontiguousarray(img[:, :, ::-1])
        rect = dlib.rectangle(
            round(box.x), round(box.y), round(box.x + box.w), round(box.y + box.h)
        )
        theirs = np.asarray(dlib.get_face_chip(rgb, predictor(rgb, rect), 150, 0.25))
        ours = embedder.align(img, lm)
        np.testing.assert_array_equal(ours[:, :, ::-1], theirs)
        wider = Box(box.x - 5, box.y - 3, box.w + 12, box.h + 10)
        v = embedder.embed([ours, embedder.align(img, lm, wider)])
        assert float(v[0] @ v[1]) > 0.97, float(v[0] @ v[1])
