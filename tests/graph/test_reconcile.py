"""Rebuilds: a record that arrives later joins its identity under the identity's id, with its
faces; a split keeps the id on the larger part; the build counts what changed."""

from __future__ import annotations

from pathlib import Path

from graphdb import EMBEDDERS, face, make_database

from stash_sense.database import DatabaseWriter, PerformerRecord
from stash_sense.graph import build_graph, explain, link_records, record_decision
from stash_sense.graph.model import FANSDB, JAVSTASH, STASHDB, SourceRecord
from stash_sense.graph.reconcile import carry_ids


def test_a_record_added_later_joins_its_identity_which_keeps_its_id(tmp_path: Path) -> None:
    db = make_database(tmp_path / "db")
    first = build_graph(db)
    assert first.changes.new_records == first.records
    before = explain(db / "graph.sqlite", "jv-yui")
    assert before is not None and len(before.records) == 2
    with DatabaseWriter.open(db, EMBEDDERS) as writer:  # FansDB adds her later, in kana
        rec = PerformerRecord(
            "はたの ゆい",
            birthdate="1988-05-24",
            stash_ids=[(FANSDB, "fd-yui")],
            primary_source=FANSDB,
        )
        pid = writer.upsert_performer(rec, FANSDB)
        writer.add_face(pid, FANSDB, "https://img.example/yui-fans.jpg", face(2, 0.2))
        writer.publish()
    second = build_graph(db)
    assert (second.changes.new_records, second.changes.joined) == (1, 1)
    after = explain(db / "graph.sqlite", "fd-yui")
    assert after is not None and after.id == before.id
    assert len(after.records) == 3
    assert sum(r.faces for r in after.records) == 3  # every source's faces stay


def test_a_split_keeps_the_id_on_the_larger_part(tmp_path: Path) -> None:
    db = make_database(tmp_path / "db")
    build_graph(db)
    jane = explain(db / "graph.sqlite", "sd-jane")
    assert jane is not None and len(jane.records) == 2
    a, b = (r.key for r in jane.records)
    record_decision(db / "graph-decisions.json", a, b, accept=False)
    summary = build_graph(db)
    assert summary.changes.splits == 1 and summary.changes.new_identities == 1
    parts = [explain(db / "graph.sqlite", r.key) for r in jane.records]
    assert sorted(p.id == jane.id for p in parts if p) == [False, True]


def test_carry_ids_without_history_counts_every_record_as_new() -> None:
    recs = [SourceRecord(STASHDB, "a", "Jane Doe"), SourceRecord(JAVSTASH, "b", "Jane Doe")]
    graph = link_records(recs, fusion={})
    same, changes = carry_ids(graph.identities, {})
    assert same == graph.identities and changes.new_records == 2


def test_a_split_part_never_takes_the_id_the_larger_part_kept() -> None:
    # three records were one identity, named after its smallest key (FansDB's); FansDB's record
    # leaves, the other two keep the id, and the one that left gets an id of its own
    a, b, c = (
        SourceRecord(ep, "x", n) for ep, n in ((FANSDB, "X"), (JAVSTASH, "Y"), (STASHDB, "Z"))
    )
    pair = lambda x, y: tuple(sorted((x.key, y.key)))  # noqa: E731
    whole = link_records([a, b, c], fusion={}, decisions={pair(a, b): True, pair(b, c): True})
    (old,) = whole.identities
    parts = link_records([a, b, c], fusion={}, decisions={pair(b, c): True})
    carried, changes = carry_ids(parts.identities, {r.key: old.id for r in (a, b, c)})
    ids = [i.id for i in carried]
    assert len(set(ids)) == len(ids) == 2
    assert next(i.id for i in carried if len(i.records) == 2) == old.id
    assert changes.splits == 1 and changes.joined == 0
