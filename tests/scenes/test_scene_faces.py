"""Scene faces: static repeats share vectors; only each person's best faces meet every embedder."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from stash_sense.database import EmbedderInfo, FaceDatabase
from stash_sense.faces import FaceEngine, load_image
from stash_sense.faces.types import FloatArray, ImageArray
from stash_sense.matching import Matcher
from stash_sense.scenes.faces import detect_scene_faces, original
from stash_sense.scenes.frames import Frame
from stash_sense.scenes.identify import DEFAULT_REPRESENTATIVES, identify_scene


@pytest.fixture(scope="module")
def engine() -> FaceEngine:
    return FaceEngine.create().load()


@pytest.fixture()
def embedded(engine: FaceEngine, monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How many faces each embedder of `engine` embeds during the test."""
    counts: Counter[str] = Counter()
    for embedder in engine.embedders:
        real = embedder.embed

        def counting(crops: Sequence[ImageArray], real: Any = real, name: str = embedder.name
                     ) -> FloatArray:  # fmt: skip
            counts[name] += len(crops)
            result: FloatArray = real(crops)
            return result

        monkeypatch.setattr(embedder, "embed", counting)
    return counts


def _frames(images: Sequence[ImageArray]) -> list[Frame]:
    return [Frame(i, float(i), img) for i, img in enumerate(images)]


def test_a_static_shot_is_embedded_once(engine: FaceEngine, lfw_dev: Path,
                                        embedded: Counter[str]) -> None:  # fmt: skip
    still = load_image(lfw_dev / "Monica_Seles" / "3.jpg")
    moved = np.ascontiguousarray(np.roll(still, 40, axis=1))
    faces = detect_scene_faces(engine, _frames([still, still, still, moved]), ["sface"])
    assert [f.frame.index for f in faces] == [0, 1, 2, 3]
    first, second, third, fourth = faces
    assert first.crops_from is None and fourth.crops_from is None
    assert original(second) is first and original(third) is first
    np.testing.assert_array_equal(third.face.embeddings["sface"], first.face.embeddings["sface"])
    assert embedded == Counter({"sface": 2})  # the first picture and the moved one


def _scene_frames(data_dir: Path) -> Iterator[Frame]:
    folder = data_dir / "scenes" / "scene-1" / "frames"
    for i, path in enumerate(sorted(folder.glob("*.jpg"))):
        image = cv2.imread(str(path))
        assert image is not None, path
        yield Frame(i, 2.0 * i, image)


def test_every_embedder_runs_only_on_each_persons_best_faces(
    engine: FaceEngine, data_dir: Path, test_db: dict[str, Any], embedded: Counter[str]
) -> None:
    frames = list(_scene_frames(data_dir))
    infos = [EmbedderInfo.from_embedder(e) for e in engine.embedders]
    db = FaceDatabase.open(Path(test_db["db"]), infos)
    try:
        db.load_indices()
        result = identify_scene(frames, engine, Matcher(db), source="frames")
    finally:
        db.close()
    named = {p.matches[0].name for p in result.persons if p.matches[0].tier != "unlikely"}
    assert {"Ali Naimi", "Monica Seles", "Tommy Thompson"} <= named
    assert result.faces_detected >= 6
    # clustering needs SFace on every face; dlib's ResNet meets only the matcher's representatives
    assert embedded["dlib"] <= DEFAULT_REPRESENTATIVES * len(result.persons)
    assert embedded["dlib"] < result.faces_detected


def test_scene_frames_are_detected_at_a_smaller_size(engine: FaceEngine, lfw_dev: Path) -> None:
    """A 1280 x 720 frame is detected at SCENE_DETECTION_SIDE: one smaller YuNet pass finds the
    same face, in the frame's own pixels, and a face to be matched is refined at that scale."""
    from stash_sense.scenes.faces import SCENE_DETECTION_SIDE

    face = load_image((lfw_dev / "Monica_Seles" / "1.jpg").read_bytes())
    frame = np.full((720, 1280, 3), 90, np.uint8)
    frame[200:450, 700:950] = face
    assert engine._get_detector(max_side=SCENE_DETECTION_SIDE).pass_scales(1280, 720) == [0.625]
    (full,) = engine.detect(frame, refine=False)
    (small,) = engine.detect(frame, refine=False, max_side=SCENE_DETECTION_SIDE)
    assert abs(small.box.x - full.box.x) < 6 and abs(small.box.w - full.box.w) < 10
    assert 700 <= small.box.x < 950 and 200 <= small.box.y < 450
    refined = engine.refine(frame, small, max_side=SCENE_DETECTION_SIDE)  # 100-odd px seen
    assert refined is not small
    assert float(np.abs(refined.landmarks - full.landmarks).max()) < 6
    faces = detect_scene_faces(engine, [Frame(0, 0.0, frame)], engine.embedder_names[:1])
    assert len(faces) == 1 and faces[0].face.box.x == pytest.approx(small.box.x)


def test_the_next_scene_keeps_the_threads_and_their_detectors(
    engine: FaceEngine, lfw_dev: Path
) -> None:
    """Each thread has its own YuNet instance (40-60 ms of CPU to make and run once): the next
    scene runs on the same threads, so on the detectors the first one made."""
    import threading

    from stash_sense.faces.detection import YuNetDetector

    made: list[int] = []
    real = YuNetDetector._instance

    def counting(self: YuNetDetector) -> Any:
        if getattr(self._local, "detector", None) is None:
            made.append(threading.get_ident())
        return real(self)

    still = load_image(lfw_dev / "Monica_Seles" / "3.jpg")
    frames = _frames([still, np.ascontiguousarray(np.roll(still, 40, axis=1))] * 3)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(YuNetDetector, "_instance", counting)
        detect_scene_faces(engine, frames, ["sface"], threads=2)
        first = len(made)
        assert detect_scene_faces(engine, frames, ["sface"], threads=2)
    assert len(made) == first, made  # none made for the second scene
