"""`db enroll` keeps each photo's subject by the rule `build` shares (faces.subject): the centred
person of a photo with a larger companion, and, in a picture of two equal faces, the one that
agrees with the performer's other photo; a picture of strangers is skipped with its reason."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from stash_sense.app.enroll import enroll_folder
from stash_sense.faces import FaceEngine
from stash_sense_devkit.standins.faults import two_faces_jpeg


@pytest.fixture(scope="module")
def engine() -> FaceEngine:
    return FaceEngine.default().load()


def face_centres(db: Path) -> dict[str, list[tuple[float, float]]]:
    """Performer name -> the box centres of its stored faces (staging database)."""
    conn = sqlite3.connect(db / "staging" / "faces.sqlite")
    try:
        rows = conn.execute(
            "SELECT p.name, f.box_x + f.box_w / 2, f.box_y + f.box_h / 2 FROM faces f "
            "JOIN performers p ON p.id = f.performer_id"
        ).fetchall()
    finally:
        conn.close()
    out: dict[str, list[tuple[float, float]]] = {}
    for name, x, y in rows:
        out.setdefault(name, []).append((x, y))
    return out


def test_enroll_keeps_the_centred_person_not_the_larger_companion(
    engine: FaceEngine, data_dir: Path, tmp_path: Path
) -> None:
    """Diana Krall's 5.jpg: a companion's face, larger than hers, at the left edge."""
    src = tmp_path / "photos" / "Diana Krall"
    src.mkdir(parents=True)
    shutil.copy(data_dir / "faces" / "lfw-dev" / "Diana_Krall" / "5.jpg", src / "5.jpg")
    result = enroll_folder(src.parent, tmp_path / "db", engine)
    assert (result.added, result.skipped) == (1, {})
    [(x, y)] = face_centres(tmp_path / "db")["Diana Krall"]
    assert abs(x - 125) < 25 and abs(y - 125) < 25


def test_enroll_settles_two_equal_faces_by_the_other_photo(
    engine: FaceEngine, data_dir: Path, tmp_path: Path
) -> None:
    lfw = data_dir / "faces" / "lfw-dev"
    serena, cruise = (lfw / n / "1.jpg" for n in ("Serena_Williams", "Tom_Cruise"))
    tom, stranger = tmp_path / "photos" / "Tom Cruise", tmp_path / "photos" / "Nobody Known"
    for folder, (left, right) in ((tom, (serena, cruise)), (stranger, (cruise, serena))):
        folder.mkdir(parents=True)
        (folder / "a-pair.jpg").write_bytes(two_faces_jpeg(left.read_bytes(), right.read_bytes()))
    shutil.copy(lfw / "Tom_Cruise" / "0.jpg", tom / "b-portrait.jpg")
    shutil.copy(lfw / "Yao_Ming" / "0.jpg", stranger / "b-portrait.jpg")
    result = enroll_folder(tmp_path / "photos", tmp_path / "db", engine)
    assert (result.added, result.skipped) == (3, {"ambiguous_faces": 1})
    centres = face_centres(tmp_path / "db")
    # the portrait (250 pixels wide) and the pair's right face (Tom Cruise), not its left
    assert sorted(x >= 250 for x, _ in centres["Tom Cruise"]) == [False, True]
    assert len(centres["Nobody Known"]) == 1  # the portrait only: the pair agrees with nobody
