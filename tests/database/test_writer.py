"""DatabaseWriter against a real SQLite staging database: upserts, faces, skips, state, merges."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest
from dbsynth import EMBEDDERS, ENDPOINT, Population, fill, make_face

from stash_sense.database import DatabaseError, DatabaseWriter, EmbedderInfo, PerformerRecord


def test_upsert_links_by_stash_id_and_lists_grow(tmp_path: Path) -> None:
    with DatabaseWriter.open(tmp_path / "db", EMBEDDERS) as w:
        a = w.upsert_performer(
            PerformerRecord("Ann", aliases=["A"], stash_ids=[(ENDPOINT, "1")]), "stashdb"
        )
        b = w.upsert_performer(
            PerformerRecord(
                "Ann B", aliases=["Annie"], stash_ids=[("https://tpdb/", "x"), (ENDPOINT, "1")]
            ),
            "tpdb",
        )
        assert a == b
        c = w.upsert_performer(PerformerRecord("Ann"), "enroll")  # no stash id: a new person
        assert c != a
        assert w.upsert_performer(PerformerRecord("Ann"), "enroll") == c  # enroll: same name
    conn = sqlite3.connect(tmp_path / "db" / "staging" / "faces.sqlite")
    aliases = {r[0] for r in conn.execute("SELECT alias FROM aliases WHERE performer_id=?", (a,))}
    assert aliases == {"A", "Annie"}
    assert conn.execute("SELECT count(*) FROM stash_ids WHERE performer_id=?", (a,)).fetchone() == (
        2,
    )
    assert conn.execute(
        "SELECT name, primary_source FROM performers WHERE id=?", (a,)
    ).fetchone() == (
        "Ann B",
        "stashdb",
    )


def test_add_face_is_idempotent_and_skips_count_as_processed(tmp_path: Path) -> None:
    pop = Population(1)
    with DatabaseWriter.open(tmp_path / "db", EMBEDDERS) as w:
        pid = w.upsert_performer(PerformerRecord("Bo"), "enroll")
        assert not w.has_image("img1")
        fid = w.add_face(pid, "enroll", "img1", pop.face(0))
        assert isinstance(fid, int)
        assert w.add_face(pid, "enroll", "img1", pop.face(0)) is None
        assert w.add_face(pid, "enroll", "img1", pop.face(0), face_index=1) is not None
        assert w.has_image("img1")
        w.record_skip("enroll", "img2", pid, "no_face")
        assert w.has_image("img2")
        assert w.counts()["faces"] == 2


def test_face_needs_every_embedder_vector(tmp_path: Path) -> None:
    with DatabaseWriter.open(tmp_path / "db", EMBEDDERS) as w:
        pid = w.upsert_performer(PerformerRecord("Cy"), "enroll")
        with pytest.raises(DatabaseError, match="no beta vector"):
            w.add_face(pid, "enroll", "img", make_face({"alpha": np.ones(32)}))
        with pytest.raises(DatabaseError, match="bad beta vector"):
            w.add_face(pid, "enroll", "img", make_face({"alpha": np.ones(32), "beta": np.ones(3)}))
        assert not w.has_image("img")


def test_transaction_rolls_back_everything_and_state_rides_along(tmp_path: Path) -> None:
    with DatabaseWriter.open(tmp_path / "db", EMBEDDERS) as w:
        with pytest.raises(RuntimeError), w.transaction():
            w.upsert_performer(PerformerRecord("Di"), "enroll")
            w.crawl.set_state("cursor", "page-7")
            raise RuntimeError("crash")
        assert w.crawl.get_state("cursor") is None
        assert w.counts()["performers"] == 0
        with w.transaction():
            w.crawl.set_state("cursor", "page-8")
    with DatabaseWriter.open(tmp_path / "db", EMBEDDERS) as w:
        assert w.crawl.get_state("cursor") == "page-8"


def test_staging_of_other_models_is_refused(tmp_path: Path) -> None:
    DatabaseWriter.open(tmp_path / "db", EMBEDDERS).close()
    other = [EmbedderInfo("alpha", 32, "1.1", "c" * 64), EMBEDDERS[1]]
    with pytest.raises(DatabaseError, match=r"made with alpha 1\.0.*this engine has alpha 1\.1"):
        DatabaseWriter.open(tmp_path / "db", other)
    with pytest.raises(DatabaseError, match="every face needs the same embedders"):
        DatabaseWriter.open(tmp_path / "db", EMBEDDERS[:1])


def test_staging_of_other_schema_version_is_refused(tmp_path: Path) -> None:
    DatabaseWriter.open(tmp_path / "db", EMBEDDERS).close()
    conn = sqlite3.connect(tmp_path / "db" / "staging" / "faces.sqlite")
    conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(DatabaseError, match="schema version 99"):
        DatabaseWriter.open(tmp_path / "db", EMBEDDERS)


def test_one_writer_at_a_time(tmp_path: Path) -> None:
    with (
        DatabaseWriter.open(tmp_path / "db", EMBEDDERS),
        pytest.raises(DatabaseError, match="being written by another process"),
    ):
        DatabaseWriter.open(tmp_path / "db", EMBEDDERS)


def test_mark_deleted_and_merge_into(tmp_path: Path) -> None:
    pop = Population(3)
    with DatabaseWriter.open(tmp_path / "db", EMBEDDERS) as w:
        ids = fill(w, pop, faces_each=2)
        w.upsert_performer(PerformerRecord("Performer 0", aliases=["Zero"]), "x", into=ids[0])
        assert w.mark_deleted(ENDPOINT, "s2") and not w.mark_deleted(ENDPOINT, "s2")
        assert w.counts()["performers"] == 2
        # stash-box merged performer 0 into 1: its images went with it, its id stays searchable
        assert w.merge_into(ENDPOINT, "s0", ids[1])
        counts = w.counts()
        assert counts["performers"] == 1
        assert counts["faces"] == 2
        assert w.find_performer(PerformerRecord("?", stash_ids=[(ENDPOINT, "s0")])) == ids[1]
        assert w.find_performer(PerformerRecord("?", stash_ids=[(ENDPOINT, "s1")])) == ids[1]
        assert w.stored_stash_ids(ENDPOINT) == {"s1"}  # merged-away ids are not listed
        assert not w.merge_into(ENDPOINT, "s7", ids[1])  # never stored: only the mapping
        assert w.find_performer(PerformerRecord("?", stash_ids=[(ENDPOINT, "s7")])) == ids[1]
        assert w.crawl.source_stats("stashdb", ENDPOINT)["merged"] == 2
