"""The library health kind "graph" (library/health_graph.py): local performers missing stash ids
that the identity graph knows, on a real graph built from a real face database (graphdb.py)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from graphdb import make_database

from stash_sense.app.library_models import HealthDecisionRequest, HealthItem
from stash_sense.database import FaceDatabase
from stash_sense.graph import build_graph, graph_paths
from stash_sense.graph.model import FANSDB, JAVSTASH, STASHDB, THEPORNDB
from stash_sense.library import LibraryStore
from stash_sense.library.health import replace_items, stored_items
from stash_sense.library.health_graph import graph_file_of, graph_items
from stash_sense.library.health_refresh import LocalPerformer
from stash_sense.library.schema import MIGRATIONS


@pytest.fixture(scope="module")
def graph_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_database(tmp_path_factory.mktemp("health-graph") / "db")
    build_graph(root)
    return graph_paths(root)[0]


def local(pid: str, name: str, *ids: tuple[str, str]) -> LocalPerformer:
    return LocalPerformer(pid, name, None, None, 0, list(ids))


def test_a_local_performer_gets_the_identitys_missing_ids(graph_file: Path) -> None:
    jane = local("1", "Jane", ("https://StashDB.org/graphql/", "sd-jane"))
    lisa = local("2", "Lisa", (FANSDB, "fd-lisa"))  # an identity of one record: nothing to add
    nobody = local("3", "Nobody")
    stranger = local("4", "Stranger", (STASHDB, "not-in-the-graph"))
    (item,) = graph_items([jane, lisa, nobody, stranger], graph_file)
    assert item["kind"] == "graph" and item["performer"]["id"] == "1"
    assert item["id"] == f"graph:1:{THEPORNDB}|tp-jane"
    assert [(s["endpoint"], s["stash_id"]) for s in item["apply_stash_ids"]] == [
        ("https://StashDB.org/graphql/", "sd-jane"),  # kept as Stash has it
        (THEPORNDB, "tp-jane"),
        (FANSDB, "fd-jane"),
    ]
    assert item["match"]["name"] == "Jane Doe" and item["match"]["tier"] == "graph"
    assert "adds 2 stash id(s)" in item["evidence"][1]
    HealthItem.model_validate(item)  # what GET /library/health?kind=graph answers


def test_ids_another_local_performer_holds_are_left_to_merge(graph_file: Path) -> None:
    yui_jav = local("5", "Yui (JAV)", (JAVSTASH, "jv-yui"))
    yui_sd = local("6", "Yui Hatano", (STASHDB, "sd-yui"))
    assert graph_items([yui_jav, yui_sd], graph_file) == []
    (alone,) = graph_items([yui_jav], graph_file)
    assert [s["stash_id"] for s in alone["apply_stash_ids"]] == ["jv-yui", "sd-yui"]


def test_no_graph_no_items(tmp_path: Path) -> None:
    jane = local("1", "Jane", (STASHDB, "sd-jane"))
    assert graph_items([jane], tmp_path / "graph.sqlite") == []


def test_the_refresh_finds_the_graph_beside_the_generation_it_opened(graph_file: Path) -> None:
    with FaceDatabase.open(graph_file.parent) as db:
        assert graph_file_of(db.path) == graph_file


def test_state_database_5_stores_graph_items_and_keeps_older_items(tmp_path: Path) -> None:
    """A state database of schema 4 (whose items table took link and merge only) is migrated:
    its items stay, and graph items can be stored and listed."""
    path = tmp_path / "library.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(";\n".join(MIGRATIONS[:4]) + ";\nPRAGMA user_version=4;")
        db.execute("INSERT INTO health_items VALUES ('link:1:e|s', 'link', 0.9, '{}', 0.0)")
        with pytest.raises(sqlite3.IntegrityError):  # the old table refused the new kind
            db.execute("INSERT INTO health_items VALUES ('graph:1:e|s', 'graph', 1, '{}', 0)")
    with LibraryStore(path) as store:
        assert store.version == len(MIGRATIONS) >= 5
        assert [r["id"] for r in store.read("SELECT id FROM health_items")] == ["link:1:e|s"]
        item = {"id": "graph:1:e|s", "kind": "graph", "score": 1.0}
        replace_items(store, [item])
        assert stored_items(store, "graph") == [item]


def test_a_graph_item_can_be_decided() -> None:
    asked = {"item_id": f"graph:1:{FANSDB}|fd-jane", "kind": "apply"}
    assert HealthDecisionRequest.model_validate(asked).item_id == asked["item_id"]
