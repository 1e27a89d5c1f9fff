"""Detection on real photos and hard video-like frames; boxes mapped back at any image size."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from stash_sense.faces import FaceEngine, load_image
from stash_sense.faces.alignment import ARCFACE_TEMPLATE, align, similarity_matrix
from stash_sense.faces.detection import DetectorSettings, YuNetDetector
from stash_sense.models import resolve_model_path


def _identities(root: Path, n: int) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir())[:n]


def test_finds_the_face_in_lfw_images(engine: FaceEngine, lfw_dev: Path) -> None:
    images = [p for d in _identities(lfw_dev, 20) for p in sorted(d.glob("*.jpg"))[:2]]
    for path in images:
        faces = engine.detect(load_image(path))
        assert faces, f"no face in {path}"
        # LFW faces are centred
        centre = faces[0].box.x + faces[0].box.w / 2, faces[0].box.y + faces[0].box.h / 2
        assert all(70 < c < 180 for c in centre), (path, centre)


def test_finds_small_faces_in_hard_queries(engine: FaceEngine, hard_queries: Path) -> None:
    images = [p for d in _identities(hard_queries, 30) for p in sorted(d.glob("*.jpg"))[:1]]
    found = 0
    for path in images:
        image = load_image(path)
        assert image.shape[:2] == (360, 640)
        faces = engine.detect(image)
        if faces and 30 <= min(faces[0].box.w, faces[0].box.h) <= 130:
            found += 1
    assert found >= len(images) - 1, f"{found}/{len(images)}"


def _detector(**kw: object) -> YuNetDetector:
    return YuNetDetector(resolve_model_path("yunet"), DetectorSettings(**kw))  # type: ignore[arg-type]


@pytest.mark.parametrize("size", [(125, 125), (200, 120), (300, 180)])
def test_boxes_map_back_after_resizing(size: tuple[int, int], lfw_dev: Path) -> None:
    """Detection on a resized copy is mapped back exactly into the original image's pixels."""
    face = load_image(lfw_dev / "Adam_Sandler" / "0.jpg")
    image = cv2.resize(face, size, interpolation=cv2.INTER_CUBIC)
    detector = _detector(refine_below=0)  # one YuNet pass, nothing re-measured
    assert detector.pass_scales(*size) == [detector.detection_scale(*size)]
    scale = detector.detection_scale(*size)
    assert scale != 1.0
    # what YuNet itself finds on the frame it is shown, with the same threshold
    work = cv2.resize(
        image,
        (round(size[0] * scale), round(size[1] * scale)),
        interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR,
    )
    yunet = cv2.FaceDetectorYN.create(
        str(resolve_model_path("yunet")), "", work.shape[1::-1], detector.settings.score_threshold
    )
    raw = yunet.detect(work)[1][0]
    sx, sy = size[0] / work.shape[1], size[1] / work.shape[0]
    found = detector.detect(image)[0]
    assert found.box.x == pytest.approx(max(0.0, raw[0] * sx), abs=0.5)
    assert found.box.y == pytest.approx(max(0.0, raw[1] * sy), abs=0.5)
    assert found.box.w == pytest.approx(raw[2] * sx, abs=1.0)
    landmarks = raw[4:14].reshape(5, 2) * [sx, sy]
    assert np.allclose(found.landmarks, landmarks, atol=0.5)


@pytest.mark.parametrize(
    ("canvas", "side"),
    [((125, 125), 125), ((1280, 1280), 1280), ((2000, 2000), 2000), ((3000, 700), 700)],
)
def test_face_of_any_size_is_found_where_it_is(
    canvas: tuple[int, int], side: int, lfw_dev: Path
) -> None:
    """A face from thumbnail size to one filling a 2000 px frame: one face, at the right place.

    YuNet alone misses a face that fills a big frame (or reports bogus parts of it): the coarse
    pass must find it and NMS must drop the rest.
    """
    face = load_image(lfw_dev / "Adam_Sandler" / "0.jpg")
    reference = _detector().detect(face)[0]
    image = np.full((canvas[1], canvas[0], 3), 90, dtype=np.uint8)
    left = (canvas[0] - side) // 2
    image[:side, left : left + side] = cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC)
    found = _detector().detect(image)
    assert len(found) == 1, [f.box for f in found]
    expected = reference.landmarks * (side / 250) + [left, 0]
    assert np.abs(found[0].landmarks - expected).max() < 0.04 * side
    assert found[0].score > 0.9


def test_face_in_a_corner_of_a_large_image(lfw_dev: Path) -> None:
    face = load_image(lfw_dev / "Adam_Sandler" / "0.jpg")
    canvas = np.full((2000, 3000, 3), 90, dtype=np.uint8)
    canvas[1700:1950, 2600:2850] = face
    found = _detector().detect(canvas)
    assert found
    box = found[0].box
    assert 2600 < box.x < 2850 and 1700 < box.y < 1950


def test_largest_first_and_min_size(lfw_dev: Path) -> None:
    a = load_image(lfw_dev / "Adam_Sandler" / "0.jpg")
    b = cv2.resize(load_image(lfw_dev / "Abdullah_Gul" / "0.jpg"), (125, 125))
    canvas = np.full((400, 700, 3), 100, dtype=np.uint8)
    canvas[100:225, 20:145] = b
    canvas[50:300, 400:650] = a
    faces = _detector().detect(canvas)
    assert len(faces) >= 2
    assert faces[0].box.x > 300 and faces[1].box.x < 200
    assert _detector(min_face_size=80).detect(canvas)[0].box.x > 300
    assert all(f.box.w >= 80 for f in _detector(min_face_size=80).detect(canvas))


def test_no_face_in_noise_and_blank() -> None:
    rng = np.random.default_rng(0)
    assert _detector().detect(np.zeros((480, 640, 3), np.uint8)) == []
    assert _detector().detect(rng.integers(0, 255, (300, 300, 3), dtype=np.uint8)) == []


def test_alignment_maps_landmarks_onto_template(engine: FaceEngine, lfw_dev: Path) -> None:
    image = load_image(lfw_dev / "Abdoulaye_Wade" / "0.jpg")
    face = engine.detect(image)[0]
    crop = align(image, face.landmarks, 112)
    assert crop.shape == (112, 112, 3) and crop.dtype == np.uint8
    assert align(image, face.landmarks, 160, 0.8).shape == (160, 160, 3)
    m = similarity_matrix(face.landmarks, 112)
    mapped = np.c_[face.landmarks, np.ones(5)] @ m.T
    assert np.abs(mapped - ARCFACE_TEMPLATE).max() < 8.0


def test_alignment_undoes_rotation(engine: FaceEngine, lfw_dev: Path) -> None:
    image = load_image(lfw_dev / "Abdoulaye_Wade" / "0.jpg")
    rot = cv2.warpAffine(image, cv2.getRotationMatrix2D((125, 125), 25, 1.0), (250, 250))
    face = engine.detect(rot)[0]
    upright = engine.detect(image)[0]
    a = align(image, upright.landmarks).astype(np.float32)[30:90, 30:90]
    b = align(rot, face.landmarks).astype(np.float32)[30:90, 30:90]
    unaligned = cv2.resize(rot, (112, 112)).astype(np.float32)[30:90, 30:90]
    assert float(np.abs(a - b).mean()) < 0.5 * float(np.abs(a - unaligned).mean())


def test_small_faces_get_refined_landmarks(lfw_dev: Path) -> None:
    """A 56 px face in a 640x360 frame: landmarks re-measured on an enlarged crop are nearer the
    truth (the landmarks of the full-size photo, scaled) than those of the frame-sized pass."""
    rng = np.random.default_rng(3)
    errors: dict[str, list[float]] = {"plain": [], "refined": []}
    for person in _identities(lfw_dev, 8):
        photo = load_image(person / "1.jpg")
        truth = _detector(min_side=640).detect(photo)[0].landmarks  # the face seen at ~250 px
        side, x0, y0 = 140, int(rng.integers(0, 500)), int(rng.integers(0, 220))
        frame = rng.integers(60, 120, (360, 640, 3), dtype=np.uint8)
        frame[y0 : y0 + side, x0 : x0 + side] = cv2.resize(photo, (side, side), cv2.INTER_AREA)
        expected = truth * (side / 250) + [x0, y0]
        for kind, detector in (("plain", _detector(refine_below=0)), ("refined", _detector())):
            found = detector.detect(frame)
            assert found, (person.name, kind)
            errors[kind].append(float(np.abs(found[0].landmarks - expected).mean()))
    # measured: 0.96 px against 1.38 px
    assert np.mean(errors["refined"]) < 0.85 * np.mean(errors["plain"]), errors


def test_refine_later_gives_the_landmarks_detect_gives(lfw_dev: Path) -> None:
    """detect(refine=False) then refine(face) equals detect() for a small face; a big one stays."""
    detector = _detector()
    photo = load_image(lfw_dev / "Monica_Seles" / "3.jpg")
    frame = np.full((360, 640, 3), 90, dtype=np.uint8)
    frame[100:180, 300:380] = cv2.resize(photo, (80, 80), interpolation=cv2.INTER_AREA)
    eager = detector.detect(frame)[0]
    lazy = detector.detect(frame, refine=False)[0]
    assert np.abs(lazy.landmarks - eager.landmarks).max() > 0.1  # refinement moved them
    np.testing.assert_allclose(detector.refine(frame, lazy).landmarks, eager.landmarks, atol=1e-4)
    big = detector.detect(photo, refine=False)[0]
    assert detector.refine(photo, big) is big
