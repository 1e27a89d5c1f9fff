"""The use cases that the CLI and the sidecar share, called directly: result models and domain
errors (real models, the shared test database, real files)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from stash_sense.app.enroll import enroll_folder
from stash_sense.app.errors import InvalidInput, Unusable
from stash_sense.app.identify import identify_image
from stash_sense.app.info import database_info
from stash_sense.app.scene import identify_video
from stash_sense.database import EmbedderInfo, FaceDatabase
from stash_sense.faces import FaceEngine
from stash_sense.matching import Matcher
from stash_sense.matching.tiers import at_least


@pytest.fixture(scope="module")
def engine() -> FaceEngine:
    return FaceEngine.default().load()


@pytest.fixture
def fdb(engine: FaceEngine, test_db: dict[str, Any]) -> Any:
    infos = [EmbedderInfo.from_embedder(e) for e in engine.embedders]
    with FaceDatabase.open(Path(test_db["db"]), infos) as db:
        yield db


def test_identify_image_gives_faces_and_matches(
    engine: FaceEngine, fdb: FaceDatabase, data_dir: Path, tmp_path: Path
) -> None:
    photo = data_dir / "faces" / "lfw-dev" / "Tommy_Thompson" / "2.jpg"
    found = identify_image(engine, Matcher(fdb), photo, top=2)
    assert found.image == str(photo) and len(found.faces) == 1
    face = found.faces[0]
    assert face.matches[0].name == "Tommy Thompson" and len(face.matches) <= 2
    record = found.as_json()
    assert list(record) == ["image", "faces"]
    assert list(record["faces"][0]) == ["box", "score", "quality", "matches"]
    assert list(record["faces"][0]["matches"][0]) == [
        "performer_id", "name", "disambiguation", "distance", "tier", "stash_ids", "aliases",
        "image_url", "country", "gender", "faces_matched", "distances", "decided_by",
        "identity",
    ]  # fmt: skip
    assert record["faces"][0]["matches"][0]["identity"] is None  # no identity graph built
    assert json.loads(json.dumps(record)) == record
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(photo.read_bytes()[:300])
    with pytest.raises(Unusable, match=r"broken\.jpg"):
        identify_image(engine, Matcher(fdb), broken)
    with pytest.raises(Unusable, match="too large"):
        identify_image(engine, Matcher(fdb), photo, max_bytes=1000)


def test_identify_image_leaves_out_matches_below_min_tier(
    engine: FaceEngine, fdb: FaceDatabase, data_dir: Path
) -> None:
    photo = data_dir / "faces" / "lfw-dev" / "Tommy_Thompson" / "2.jpg"
    every = identify_image(engine, Matcher(fdb), photo, top=8).faces[0].matches
    assert [m.tier for m in every][-1] == "unlikely"
    for lowest in ("high", "likely", "possible"):
        kept = identify_image(engine, Matcher(fdb), photo, top=8, min_tier=lowest)
        assert kept.faces[0].matches == [m for m in every if at_least(m.tier, lowest)]


def test_database_info(fdb: FaceDatabase, test_db: dict[str, Any]) -> None:
    info = database_info(fdb, Path(test_db["db"]))
    assert info.path == test_db["db"] and info.generation == fdb.path.name
    assert info.counts["performers"] == 8 and "enroll" in info.sources
    assert info.stash_ids_per_endpoint == {
        "https://fansdb.cc/graphql": 1,
        "https://stashdb.org/graphql": 2,
    }
    assert "faces.sqlite" in info.file_sizes


def test_enroll_folder_adds_once_and_refuses_bad_folders(
    engine: FaceEngine, data_dir: Path, tmp_path: Path
) -> None:
    src = tmp_path / "photos"
    for name in ("Celine_Dion", "Adam_Sandler"):
        (src / name.replace("_", " ")).mkdir(parents=True)
        shutil.copy(data_dir / "faces" / "lfw-dev" / name / "0.jpg", src / name.replace("_", " "))
    (src / "Adam Sandler" / "notes.jpg").write_bytes(b"not an image")
    seen: list[tuple[int, int]] = []
    first = enroll_folder(src, tmp_path / "db", engine, on_image=lambda n, t: seen.append((n, t)))
    assert (first.folders, first.images, first.added) == (2, 3, 2)
    assert first.skipped == {"unreadable": 1} and first.published is not None
    assert seen[-1] == (3, 3)
    again = enroll_folder(src, tmp_path / "db", engine)
    assert (again.added, again.present, again.published) == (0, 3, None)
    with pytest.raises(InvalidInput, match="is not a folder"):
        enroll_folder(tmp_path / "nope", tmp_path / "db", engine)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInput, match="no performer folders"):
        enroll_folder(tmp_path / "empty", tmp_path / "db", engine)


def test_identify_video_refuses_what_is_no_video(
    engine: FaceEngine, fdb: FaceDatabase, tmp_path: Path
) -> None:
    with pytest.raises(InvalidInput, match="no such video file"):
        identify_video(tmp_path / "nope.mp4", engine, Matcher(fdb), frames=4)
    fake = tmp_path / "fake.mp4"
    fake.write_bytes(b"this is not a video at all")
    with pytest.raises(Unusable):
        identify_video(fake, engine, Matcher(fdb), frames=4)
