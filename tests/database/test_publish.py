"""Publishing generations: folder layout, manifest, atomic swap, crash safety, pruning."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from dbsynth import EMBEDDERS, Population, fill

from stash_sense.database import DatabaseError, DatabaseWriter, FaceDatabase
from stash_sense.database.publish import sha256_file


def test_layout_and_manifest(published: Callable[[], Path]) -> None:
    root = published()
    assert sorted(p.name for p in root.iterdir()) == ["current", "gen-000001", "staging"]
    assert os.readlink(root / "current") == "gen-000001"
    gen = root / "gen-000001"
    names = sorted(p.name for p in gen.iterdir())
    assert names == ["faces.sqlite", "index-alpha.voy", "index-beta.voy", "manifest.json"]
    m = json.loads((gen / "manifest.json").read_text())
    assert m["format"] == "stash-sense-db" and m["schema_version"] == 1
    assert m["models"]["alpha"] == {"version": "1.0", "sha256": "a" * 64, "dim": 32}
    assert m["fusion"]["embedders"] == {"alpha": 0.5, "beta": 0.5}
    assert (m["tiers"]["high"], m["tiers"]["likely"], m["tiers"]["possible"]) == (0.4, 0.6, 0.8)
    assert m["counts"]["performers"] == 30 and m["counts"]["faces"] == 90
    assert m["sources"]["stashdb"]["faces"] == 90
    for name, digest in m["files"].items():
        assert sha256_file(gen / name) == digest
    with FaceDatabase.open(root) as db:
        assert db.index("alpha").num_elements == 90
        assert sorted(db.index("beta").ids) == sorted(db.face_performers(range(1, 91)))


def test_reader_keeps_its_generation_while_newer_ones_are_published(
    published: Callable[[], Path], population: Population
) -> None:
    root = published()
    reader = FaceDatabase.open(root)
    reader.load_indices()
    with DatabaseWriter.open(root, EMBEDDERS) as w:
        fill(w, Population(5, seed=9), tag="more")
        w.publish()
        w.publish()  # gen 1 is now deleted from disk
    assert not (root / "gen-000001").exists()
    assert sorted(p.name for p in root.glob("gen-*")) == ["gen-000002", "gen-000003"]
    assert reader.manifest.counts["faces"] == 90
    assert len(reader.face_performers(range(1, 200))) == 90
    assert reader.performers([1])[1].name == "Performer 0"
    reader.close()
    with FaceDatabase.open(root) as fresh:
        assert fresh.manifest.counts["faces"] == 90 + 15


@pytest.mark.parametrize("step", ["build_index", "swap_current", "rename"])
def test_crash_between_steps_leaves_current_valid(
    published: Callable[[], Path], monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    root = published()

    def crash(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt("power cut")

    target = "os.rename" if step == "rename" else f"stash_sense.database.publish.{step}"
    with DatabaseWriter.open(root, EMBEDDERS) as w:
        fill(w, Population(2, seed=5), tag="late")
        monkeypatch.setattr(target, crash)
        with pytest.raises(KeyboardInterrupt):
            w.publish()
        monkeypatch.undo()
        assert os.readlink(root / "current") == "gen-000001"
        with FaceDatabase.open(root) as db:
            assert db.manifest.counts["faces"] == 90
        gen = w.publish()  # the next publish works and clears what the crash left
    assert not list(root.glob("*.tmp"))
    with FaceDatabase.open(root) as db:
        assert db.path == gen.resolve()
        assert db.manifest.counts["faces"] == 96


def test_tiers_and_source_stats_persist_across_publishes(published: Callable[[], Path]) -> None:
    root = published()
    tiers = {
        "high": 0.3,
        "likely": 0.5,
        "possible": 0.7,
        "calibration": {"high": {"precision": 1.0}},
    }
    with DatabaseWriter.open(root, EMBEDDERS) as w:
        w.publish(source_stats={"stashdb": {"performers_seen": 40}}, tiers=tiers)
        gen = w.publish()
    m = json.loads((gen / "manifest.json").read_text())
    assert m["tiers"]["high"] == 0.3 and m["tiers"]["calibration"] == {"high": {"precision": 1.0}}
    assert m["sources"]["stashdb"]["performers_seen"] == 40


def test_new_staging_starts_from_current_generation(published: Callable[[], Path]) -> None:
    root = published()
    for p in (root / "staging").iterdir():
        p.unlink()
    (root / "staging").rmdir()
    with DatabaseWriter.open(root, EMBEDDERS) as w:
        assert w.counts()["faces"] == 90
        assert w.has_image("https://img.example/3/1.jpg")


def test_deleted_performers_leave_the_index(published: Callable[[], Path]) -> None:
    root = published()
    with DatabaseWriter.open(root, EMBEDDERS) as w:
        w.mark_deleted("https://stashdb.example/graphql", "s0")
        w.publish()
    with FaceDatabase.open(root) as db:
        assert db.index("alpha").num_elements == 87
        assert db.manifest.counts["deleted_performers"] == 1


def test_publish_into_unwritable_root_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(DatabaseError, match="is not a folder"):
        DatabaseWriter.open(tmp_path / "file", EMBEDDERS)
