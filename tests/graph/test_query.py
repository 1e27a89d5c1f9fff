"""Queries by stash id: the identity holding any of its stash ids (own, stated elsewhere,
merged), with every endpoint's ids, names per source, URLs and faces aggregated; a graph file of
schema version 1 is brought forward with its lookup table filled."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from graphdb import make_database

from stash_sense.app.errors import NotFound
from stash_sense.app.graph import identity_by_stash_id
from stash_sense.graph import build_graph, identities_for_performers, identity_for_stash_id
from stash_sense.graph.model import FANSDB, JAVSTASH, STASHDB, THEPORNDB
from stash_sense.graph.store import MIGRATIONS


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_database(tmp_path_factory.mktemp("query") / "db")
    build_graph(root)
    return root


JANE = [(FANSDB, "fd-jane"), (STASHDB, "sd-jane"), (THEPORNDB, "tp-jane")]


def test_any_stash_id_finds_the_identity_with_every_endpoints_ids(db: Path) -> None:
    graph = db / "graph.sqlite"
    for endpoint, sid in JANE:  # TPDB's id is one StashDB's row states, not a record's own
        found = identity_for_stash_id(graph, endpoint, sid)
        assert found is not None and found.stash_ids() == JANE
    jane = identity_for_stash_id(graph, FANSDB, "fd-jane")
    assert jane is not None
    assert jane.names() == {STASHDB: ["Jane Doe"], FANSDB: ["Janie D"]}
    assert jane.faces == 3 and len(jane.performer_ids()) == 2  # TPDB's face is on StashDB's row
    assert "https://twitter.com/JaneDoeXX" in jane.urls()
    assert identity_for_stash_id(graph, JAVSTASH, "fd-jane") is None  # the endpoint counts


def test_the_use_case_answers_the_identity_or_not_found(db: Path) -> None:
    yui = identity_by_stash_id(db, JAVSTASH, "jv-yui")
    assert [(s.endpoint, s.stash_id) for s in yui.stash_ids] == [
        (JAVSTASH, "jv-yui"),
        (STASHDB, "sd-yui"),
    ]
    assert yui.names[JAVSTASH] == ["波多野結衣"] and yui.faces == 2
    with pytest.raises(NotFound):
        identity_by_stash_id(db, STASHDB, "nobody")


def test_performer_rows_map_to_their_identities(db: Path) -> None:
    jane = identity_for_stash_id(db / "graph.sqlite", STASHDB, "sd-jane")
    assert jane is not None
    found = identities_for_performers(db / "graph.sqlite", [*jane.performer_ids(), 99999])
    assert set(found) == set(jane.performer_ids())
    assert {f.id for f in found.values()} == {jane.id}


def test_a_version_1_graph_file_gets_its_lookup_table(db: Path, tmp_path: Path) -> None:
    old = tmp_path / "graph.sqlite"
    with sqlite3.connect(db / "graph.sqlite") as src, sqlite3.connect(old) as dst:
        dst.executescript(MIGRATIONS[0] + "; PRAGMA user_version = 1;")
        for table in ("records", "links", "identities"):  # version 1's columns only
            columns = [c[1] for c in dst.execute(f"PRAGMA table_info({table})")]
            rows = src.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall()
            marks = ",".join("?" * len(columns))
            dst.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
    found = identity_for_stash_id(old, THEPORNDB, "tp-jane")
    assert found is not None and found.stash_ids() == JANE
