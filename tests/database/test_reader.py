"""FaceDatabase: opening roots and generation folders, refusing what it cannot use."""

from __future__ import annotations

import json
import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from dbsynth import EMBEDDERS

from stash_sense.database import DatabaseError, DatabaseWriter, EmbedderInfo, FaceDatabase


def test_plain_generation_folder_in_a_read_only_place(
    published: Callable[[], Path], tmp_path: Path
) -> None:
    root = published()
    copy = tmp_path / "dist" / "gen"
    shutil.copytree(root / "gen-000001", copy)
    for p in [copy, *copy.iterdir()]:
        p.chmod(p.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    before = {p.name: p.stat().st_mtime_ns for p in copy.iterdir()}
    try:
        with FaceDatabase.open(copy, EMBEDDERS) as db:
            assert db.embedder_names == ["alpha", "beta"]
            assert db.performers([1])[1].stash_ids[0]["stash_id"] == "s0"
            assert db.performer_ids_by_name("performer 3") == [4]
        # nothing written beside the files: no -wal/-shm/-journal, nothing touched
        assert {p.name: p.stat().st_mtime_ns for p in copy.iterdir()} == before
    finally:
        copy.chmod(0o755)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders anyway")
def test_writer_refuses_a_read_only_root(published: Callable[[], Path]) -> None:
    root = published()
    root.chmod(0o555)
    (root / "staging").chmod(0o555)
    try:
        with pytest.raises(DatabaseError, match="cannot write"):
            DatabaseWriter.open(root, EMBEDDERS)
    finally:
        root.chmod(0o755)
        (root / "staging").chmod(0o755)


def test_other_models_are_refused(published: Callable[[], Path]) -> None:
    root = published()
    engine = [EmbedderInfo("alpha", 32, "1.0", "f" * 64)]
    with pytest.raises(
        DatabaseError, match=r"made with alpha 1\.0 sha256 aaaa.*has alpha 1\.0 sha"
    ):
        FaceDatabase.open(root, engine)
    with pytest.raises(DatabaseError, match="no model shared"):
        FaceDatabase.open(root, [EmbedderInfo("gamma", 8, "1", "")])
    with FaceDatabase.open(root, EMBEDDERS[1:]) as db:  # a subset of the models is usable
        assert db.embedder_names == ["beta"]


def _edit_manifest(root: Path, edit: Callable[[dict[str, object]], object]) -> None:
    path = root / "gen-000001" / "manifest.json"
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))


def test_other_schema_version_is_refused(published: Callable[[], Path]) -> None:
    root = published()
    _edit_manifest(root, lambda m: m.update(schema_version=2))
    with pytest.raises(DatabaseError, match="schema version 2; this stash-sense reads version 1"):
        FaceDatabase.open(root)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda p: p.write_text("{not json"), "corrupt manifest"),
        (lambda p: p.write_text('{"format": "other"}'), "not a stash-sense database manifest"),
        (lambda p: p.unlink(), "not a database generation"),
    ],
)
def test_damaged_manifest_is_a_one_line_error(
    published: Callable[[], Path], damage: Callable[[Path], object], message: str
) -> None:
    root = published()
    damage(root / "gen-000001" / "manifest.json")
    with pytest.raises(DatabaseError, match=message) as err:
        FaceDatabase.open(root)
    assert "\n" not in str(err.value)


def test_missing_database_and_missing_index(published: Callable[[], Path], tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match="no face database at"):
        FaceDatabase.open(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatabaseError, match="holds no published database"):
        FaceDatabase.open(tmp_path / "empty")
    root = published()
    (root / "gen-000001" / "index-beta.voy").unlink()
    with pytest.raises(DatabaseError, match=r"missing index-beta\.voy"):
        FaceDatabase.open(root)


def test_corrupt_index_is_a_clear_error(published: Callable[[], Path]) -> None:
    root = published()
    (root / "gen-000001" / "index-alpha.voy").write_bytes(b"garbage")
    with FaceDatabase.open(root) as db, pytest.raises(DatabaseError, match="cannot load"):
        db.index("alpha")
