"""Incremental relinking: after records arrive, change and leave, a relink of only what changed
gives the same identities and links as linking everything again, and weighs only the changed
records and their candidates."""

from __future__ import annotations

import shutil
from pathlib import Path

from graphdb import EMBEDDERS, face, make_database

from stash_sense.database import DatabaseWriter, PerformerRecord
from stash_sense.graph import build_graph, explain
from stash_sense.graph.model import FANSDB, JAVSTASH, PMVSTASH, STASHDB
from stash_sense.graph.store import open_graph


def snapshot(db: Path) -> tuple[set[frozenset[str]], set[tuple[str, str, str]]]:
    """The graph's identities (as sets of record keys) and its links' statuses."""
    conn = open_graph(db / "graph.sqlite")
    try:
        groups: dict[str, set[str]] = {}
        for key, ident in conn.execute("SELECT key, identity FROM records"):
            groups.setdefault(ident, set()).add(key)
        links = {(a, b, s) for a, b, s in conn.execute("SELECT a, b, status FROM links")}
        return {frozenset(g) for g in groups.values()}, links
    finally:
        conn.close()


def change(db: Path) -> None:
    """PMVStash adds Jane (same photo, her twitter); JAVStash's Yui gets a conflicting
    birthdate (an edit); StashDB deletes Lisa's namesake... FansDB's Lisa."""
    with DatabaseWriter.open(db, EMBEDDERS) as writer:
        rec = PerformerRecord(
            "Jane Doe",
            urls=[("https://twitter.com/janedoexx", "twitter")],
            stash_ids=[(PMVSTASH, "pv-jane")],
            primary_source=PMVSTASH,
        )
        pid = writer.upsert_performer(rec, PMVSTASH)
        writer.add_face(pid, PMVSTASH, "https://img.example/jane-pmv.jpg", face(1, 0.2))
        yui = PerformerRecord(
            "波多野結衣", birthdate="1990-01-01", stash_ids=[(JAVSTASH, "jv-yui")]
        )
        writer.upsert_performer(yui, JAVSTASH)
        writer.mark_deleted(FANSDB, "fd-lisa")
        writer.publish()


def test_an_incremental_relink_equals_a_full_one(tmp_path: Path) -> None:
    db = make_database(tmp_path / "db")
    first = build_graph(db)
    assert first.mode == "full"
    jane = explain(db / "graph.sqlite", "sd-jane")
    yui = explain(db / "graph.sqlite", "jv-yui")
    assert jane is not None and yui is not None and len(yui.records) == 2
    change(db)
    full = tmp_path / "full"
    shutil.copytree(db, full, symlinks=True)
    summary = build_graph(db)
    assert summary.mode == "incremental"
    assert summary.relinked["changed"] == 2 and summary.relinked["removed"] == 1
    assert summary.relinked["touched"] < summary.records  # not every record weighed again
    assert build_graph(full, full=True).mode == "full"
    assert snapshot(db) == snapshot(full)
    # the late record joined Jane's identity under its id, every source's faces with it
    after = explain(db / "graph.sqlite", "pv-jane")
    assert after is not None and after.id == jane.id and after.faces == jane.faces + 1
    # the edit's conflicting birthdate split Yui's records apart
    parts = {explain(db / "graph.sqlite", k).id for k in ("jv-yui", "sd-yui")}  # type: ignore[union-attr]
    assert len(parts) == 2 and yui.id in parts
    assert summary.changes.splits == 1


def test_nothing_changed_weighs_nothing(tmp_path: Path) -> None:
    db = make_database(tmp_path / "db")
    before = build_graph(db)
    again = build_graph(db)
    assert again.mode == "incremental" and again.relinked["touched"] == 0
    assert again.links == before.links and again.identities == before.identities
    assert STASHDB in {r.endpoint for r in explain(db / "graph.sqlite", "sd-jane").records}  # type: ignore[union-attr]
