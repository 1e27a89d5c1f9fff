"""Which faces may stand for a performer: the pose checks alone never keep a portrait out."""

from __future__ import annotations

from pathlib import Path

import pytest

from stash_sense.app.enroll import enroll_folder
from stash_sense.faces import FaceEngine, load_image
from stash_sense.faces.quality import POSE_REASONS, enrollable
from stash_sense.faces.types import FaceQuality


def _quality(*reasons: str) -> FaceQuality:
    return FaceQuality(0.9, 80.0, 100.0, 0.0, 0.0, 0.0, not reasons, tuple(reasons))


@pytest.mark.parametrize(
    ("reasons", "expected"),
    [
        ((), True),
        (("turned away",), True),
        (("turned away", "looking up or down", "tilted"), True),
        (("too blurry",), False),
        (("turned away", "too small"), False),
        (("low detection score",), False),
    ],
)
def test_only_pose_reasons_are_forgiven(reasons: tuple[str, ...], expected: bool) -> None:
    assert enrollable(_quality(*reasons)) is expected
    assert set(reasons) <= POSE_REASONS or not expected


def test_a_three_quarter_portrait_is_enrolled_not_skipped(
    engine: FaceEngine, lfw_dev: Path, tmp_path: Path
) -> None:
    """Arnold_Schwarzenegger/0.jpg: one face, which the five-point pose calls turned away."""
    photo = lfw_dev / "Arnold_Schwarzenegger" / "0.jpg"
    faces = engine.analyze(load_image(photo))
    assert len(faces) == 1 and not faces[0].quality.usable and enrollable(faces[0].quality)
    (tmp_path / "src" / "Arnold").mkdir(parents=True)
    (tmp_path / "src" / "Arnold" / "0.jpg").write_bytes(photo.read_bytes())
    result = enroll_folder(tmp_path / "src", tmp_path / "db", engine=engine)
    assert result.added == 1 and not result.skipped
