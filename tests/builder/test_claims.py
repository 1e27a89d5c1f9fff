"""`DatabaseWriter.drop_claim` over a real staging database: a source that no longer knows an id
takes only its own record off a row other sources hold (ids, faces, what only it listed), marks a
row deleted only when no other source holds it, and the release diff sees the row as changed."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from stash_sense.database import DatabaseWriter, EmbedderInfo, FaceDatabase, PerformerRecord
from stash_sense.database.canonical import export_canonical
from stash_sense.database.diff import write_diff
from stash_sense.database.layout import SQLITE_NAME, current_generation
from stash_sense.database.manifest import Manifest
from stash_sense.faces.types import AnalyzedFace, Box, DetectedFace, FaceQuality

EMBEDDERS = [EmbedderInfo("alpha", 8, "1.0", "a" * 64)]
STASHDB = "https://stashdb.org/graphql"
THEPORNDB = "https://theporndb.net/graphql"


def face(seed: int) -> AnalyzedFace:
    v = np.random.default_rng(seed).normal(size=8)
    quality = FaceQuality(0.9, 100.0, 120.0, 0.0, 0.0, 0.0, True)
    detected = DetectedFace(Box(10, 20, 100, 120), 0.9, np.zeros((5, 2), np.float32))
    return AnalyzedFace(detected, quality, {"alpha": (v / np.linalg.norm(v)).astype(np.float32)})


def write(
    w: DatabaseWriter, source: str, rec: PerformerRecord, seed: int, *, hold: bool = True
) -> int:
    """A source's record as the builder writes it (its record held unless `hold` is False: a
    row written before records were kept), with one face of its own."""
    pid = w.upsert_performer(rec, source, current=True)
    if hold:
        w.hold(pid, source, rec.stash_ids[0][1])
    w.add_face(pid, source, f"https://{source}.example/{seed}.jpg", face(seed))
    return pid


def stashdb(name: str, sid: str, aliases: tuple[str, ...] = ()) -> PerformerRecord:
    return PerformerRecord(
        name, aliases=list(aliases), stash_ids=[(STASHDB, sid)], primary_source="stashdb"
    )


def tpdb(name: str, tid: str, sid: str, aliases: tuple[str, ...] = ()) -> PerformerRecord:
    ids = [(THEPORNDB, tid), (STASHDB, sid)]  # ThePornDB states the StashDB id
    return PerformerRecord(name, aliases=list(aliases), stash_ids=ids, primary_source="tpdb")


def live(db: Path, endpoint: str, stash_id: str) -> tuple[list[tuple[str, str]], list[str]] | None:
    """The published performer holding the id: its stash ids and faces' sources; None if none."""
    with FaceDatabase.open(db) as fdb:
        pid = fdb.performer_by_stash_id(endpoint, stash_id)
        if pid is None or fdb.query("SELECT deleted FROM performers WHERE id = ?", (pid,))[0][0]:
            return None
        ids = fdb.query("SELECT endpoint, stash_id FROM stash_ids WHERE performer_id = ?", (pid,))
        faces = fdb.query("SELECT source FROM faces WHERE performer_id = ?", (pid,))
        return sorted((str(e), str(s)) for e, s in ids), sorted(str(s) for (s,) in faces)


def test_only_the_answering_sources_claim_goes(tmp_path: Path) -> None:
    db = tmp_path / "db"
    with DatabaseWriter.open(db, EMBEDDERS) as w:
        shared = write(w, "stashdb", stashdb("Ann", "sd-ann", aliases=("Annie", "A")), 1)
        assert write(w, "tpdb", tpdb("Ann", "tp-ann", "sd-ann", aliases=("A",)), 2) == shared
        alone = write(w, "stashdb", stashdb("Bea", "sd-bea"), 3)
        write(w, "tpdb", tpdb("Cat", "tp-cat", "sd-cat"), 4, hold=False)
        w.merge_into(STASHDB, "sd-gone", alone, "stashdb")  # a merged-away id, mapped to Bea

        assert w.drop_claim(STASHDB, "sd-ann", "stashdb") == "released"
        assert w.drop_claim(STASHDB, "sd-ann", "stashdb") == ""  # not held any more
        assert w.drop_claim(STASHDB, "sd-bea", "stashdb") == "deleted"  # no one else holds it
        assert w.drop_claim(STASHDB, "sd-cat", "stashdb") == "released"  # an older row
        assert w.drop_claim(STASHDB, "sd-gone", "stashdb") == ""  # merged away: not Bea's own
        assert w.drop_claim(STASHDB, "sd-never", "stashdb") == ""
        w.publish()
    with FaceDatabase.open(db) as fdb:
        aliases = fdb.query("SELECT alias FROM aliases WHERE performer_id = ?", (shared,))
        primary = fdb.query("SELECT primary_source FROM performers WHERE id = ?", (shared,))
    assert aliases == [("A",)]  # "Annie" only StashDB listed
    assert primary == [("tpdb",)]  # the first writer's claim went: the other source is primary
    assert live(db, THEPORNDB, "tp-ann") == ([(THEPORNDB, "tp-ann")], ["tpdb"])
    assert live(db, STASHDB, "sd-ann") is None
    assert live(db, STASHDB, "sd-bea") is None  # marked deleted, left out of the release
    assert live(db, THEPORNDB, "tp-cat") == ([(THEPORNDB, "tp-cat")], ["tpdb"])


def test_a_row_that_loses_a_stash_id_is_a_changed_row_in_the_release_diff(tmp_path: Path) -> None:
    db = tmp_path / "db"

    def canonical(dest: Path) -> Path:
        gen = current_generation(db)
        assert gen is not None
        data = {k: v for k, v in Manifest.read(gen).as_dict().items() if k != "files"}
        export_canonical(gen / SQLITE_NAME, dest, data)
        return dest / SQLITE_NAME

    with DatabaseWriter.open(db, EMBEDDERS) as w:
        write(w, "stashdb", stashdb("Ann", "sd-ann"), 1)
        write(w, "tpdb", tpdb("Ann", "tp-ann", "sd-ann"), 2)
        write(w, "tpdb", tpdb("Dee", "tp-dee", "sd-dee"), 3)
        w.publish()
        before = canonical(tmp_path / "old")
        assert w.drop_claim(STASHDB, "sd-ann", "stashdb") == "released"
        w.publish()
    after = canonical(tmp_path / "new")
    counts = write_diff(before, after, tmp_path / "delta.sqlite")
    assert counts == {
        "performers_changed": 1,  # Ann: one stash id and StashDB's face fewer; Dee unchanged
        "performers_removed": 0,
        "faces_changed": 0,
        "faces_removed": 1,
    }
