"""Merging databases of several sources: linked by stash id only, vectors copied, models checked."""

from __future__ import annotations

from pathlib import Path

import pytest
from dbsynth import EMBEDDERS, ENDPOINT, Population, fill

from stash_sense.database import (
    DatabaseError,
    DatabaseWriter,
    EmbedderInfo,
    FaceDatabase,
    PerformerRecord,
)
from stash_sense.database.merge import merge_database, same_models


def _source_db(root: Path, pop: Population, tag: str, extra_name: str) -> FaceDatabase:
    with DatabaseWriter.open(root, EMBEDDERS) as w:
        fill(w, pop, faces_each=2, tag=tag)
        pid = w.upsert_performer(PerformerRecord(extra_name), "enroll")
        w.add_face(pid, "enroll", f"local-{tag}", pop.face(0))
        w.record_skip("enroll", f"bad-{tag}", pid, "no_face")
        w.publish()
    return FaceDatabase.open(root)


def test_merge_links_by_stash_id_only_and_copies_vectors(tmp_path: Path) -> None:
    pop = Population(4)
    a = _source_db(tmp_path / "a", pop, "a", "Local")
    b = _source_db(tmp_path / "b", pop, "b", "Local")  # same name, no stash id: not linked
    with DatabaseWriter.open(tmp_path / "out", same_models([a, b])) as w:
        merge_database(w, a)
        stats = merge_database(w, b)
        assert stats.faces_added == 4 * 2 + 1
        again = merge_database(w, b)
        assert again.faces_added == 0 and again.faces_present == 9
        w.publish()
    with FaceDatabase.open(tmp_path / "out") as out:
        assert out.manifest.counts["performers"] == 4 + 2
        assert out.manifest.counts["faces"] == 18
        assert out.manifest.counts["skipped_images"] == 2
        ids = out.query("SELECT performer_id FROM stash_ids WHERE stash_id = 's1'")
        assert len(out.query("SELECT id FROM faces WHERE performer_id = ?", ids[0])) == 4
        src_vec = a.query("SELECT vector FROM embeddings WHERE face_id = 1 AND embedder='beta'")
        copied = out.query(
            "SELECT e.vector FROM embeddings e JOIN faces f ON f.id = e.face_id "
            "WHERE f.source_image = 'https://img.example/a0/0.jpg' AND e.embedder = 'beta'"
        )
        assert bytes(src_vec[0][0]) == bytes(copied[0][0])  # the very same float32 bytes
        assert out.performers(ids[0])[ids[0][0]].stash_ids == [
            {"endpoint": ENDPOINT, "stash_id": "s1"}
        ]
    a.close()
    b.close()


def test_merge_refuses_mixed_models(tmp_path: Path) -> None:
    pop = Population(2)
    a = _source_db(tmp_path / "a", pop, "a", "X")
    other = [EMBEDDERS[0], EmbedderInfo("beta", 16, "3.0", "d" * 64)]
    with DatabaseWriter.open(tmp_path / "c", other) as w:
        fill(w, pop, tag="c")
        w.publish()
    c = FaceDatabase.open(tmp_path / "c")
    with pytest.raises(DatabaseError, match="different models"):
        same_models([a, c])
    a.close()
    c.close()
