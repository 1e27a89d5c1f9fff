"""`stash-sense db graph build | review | explain` on a real face database of four endpoints."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from graphdb import make_database, run_cli

from stash_sense.database import PerformerRecord
from stash_sense.graph.model import FANSDB, JAVSTASH, STASHDB, THEPORNDB


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = make_database(tmp_path_factory.mktemp("graph") / "db")
    proc = run_cli("db", "graph", "build", "--db", db, "--json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    # TPDB's record names StashDB's id: the database keeps it on StashDB's row (one record)
    assert summary["records"] == 7
    return db


def explain(db: Path, ident: str) -> dict:  # type: ignore[type-arg]
    proc = run_cli("db", "graph", "explain", ident, "--db", db, "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def test_explain_shows_each_link_with_its_evidence(built: Path) -> None:
    jane = explain(built, "sd-jane")
    keys = {r["key"] for r in jane["records"]}
    assert keys == {f"{STASHDB}#sd-jane", f"{FANSDB}#fd-jane"}
    assert jane["primary"] == f"{STASHDB}#sd-jane" and jane["name"] == "Jane Doe"
    assert {(i["endpoint"], i["stash_id"]) for i in jane["stash_ids"]} == {
        (STASHDB, "sd-jane"),
        (THEPORNDB, "tp-jane"),
        (FANSDB, "fd-jane"),
    }
    (link,) = jane["links"]
    assert link["status"] == "accepted"
    assert "url" in {e["kind"] for e in link["evidence"]}
    yui = explain(built, f"{JAVSTASH}#jv-yui")
    assert {r["name"] for r in yui["records"]} == {"Yui Hatano", "波多野結衣"}
    text = run_cli("db", "graph", "explain", "jv-yui", "--db", built)
    assert "score" in text.stdout and "name" in text.stdout


def test_same_name_different_people_and_look_alikes_stay_apart(built: Path) -> None:
    assert len(explain(built, "fd-lisa")["records"]) == 1
    assert len(explain(built, "fd-look")["records"]) == 1


def test_review_then_a_decision_is_kept_across_rebuilds(built: Path) -> None:
    proc = run_cli("db", "graph", "review", "--db", built, "--json")
    assert proc.returncode == 0, proc.stderr
    links = json.loads(proc.stdout)["links"]
    look = [lk for lk in links if f"{FANSDB}#fd-look" in (lk["a"], lk["b"])]
    assert look and look[0]["reason"] == "a face alone"
    a, b = look[0]["a"], look[0]["b"]
    proc = run_cli("db", "graph", "review", "--db", built, "--reject", a, b, "--json")
    assert proc.returncode == 0, proc.stderr
    for _ in range(2):  # the decision holds on every rebuild
        assert run_cli("db", "graph", "build", "--db", built).returncode == 0
        again = json.loads(run_cli("db", "graph", "review", "--db", built, "--json").stdout)
        assert not [lk for lk in again["links"] if (lk["a"], lk["b"]) == (a, b)]
        assert len(explain(built, "fd-look")["records"]) == 1
    decisions = json.loads((built / "graph-decisions.json").read_text())
    assert decisions["decisions"][0]["decision"] == "reject"


def test_clear_errors(built: Path, tmp_path: Path) -> None:
    proc = run_cli("db", "graph", "explain", "nobody", "--db", built)
    assert proc.returncode == 1 and "no identity" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_cli("db", "graph", "review", "--db", built, "--accept", "x#1", "y#2")
    assert proc.returncode == 1 and "no record x#1, y#2" in proc.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = run_cli("db", "graph", "review", "--db", empty)
    assert proc.returncode == 1 and "db graph build" in proc.stderr
    (built / "graph-decisions.json").write_text("{not json")
    proc = run_cli("db", "graph", "build", "--db", built)
    assert proc.returncode == 1 and "decisions" in proc.stderr
    assert (built / "graph-decisions.json").read_text() == "{not json"  # kept as it was
    (built / "graph-decisions.json").unlink()


def test_hostile_metadata_is_stored_safely_or_skipped_with_a_reason(tmp_path: Path) -> None:
    hostile = [
        PerformerRecord(
            "Many Aliases",
            aliases=[f"alias {i} " + "x" * 90 for i in range(100_000)],
            stash_ids=[(FANSDB, "fd-aliases")],
            primary_source=FANSDB,
        ),
        PerformerRecord(
            "Script Kiddie",
            urls=[("javascript:alert(document.cookie)", None)],
            stash_ids=[(FANSDB, "fd-js")],
            primary_source=FANSDB,
        ),
        PerformerRecord(
            "\x00\x01\x07\x1b\x7f", stash_ids=[(FANSDB, "fd-ctl")], primary_source=FANSDB
        ),
    ]
    db = make_database(tmp_path / "db", hostile)
    proc = run_cli("db", "graph", "build", "--db", db, "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["records_with_skipped_data"] == 3
    many = explain(db, "fd-aliases")["records"][0]
    assert any("100000 listed" in s for s in many["skipped"])
    assert len(many["aliases"]) <= 200  # stored capped, not 10 MB
    js = explain(db, "fd-js")["records"][0]
    assert any("javascript" in s for s in js["skipped"]) and js["urls"] == []
    ctl = run_cli("db", "graph", "explain", "fd-ctl", "--db", db)
    assert ctl.returncode == 0 and "control characters" in ctl.stdout
    assert "\x1b" not in ctl.stdout and "\x07" not in ctl.stdout  # nothing reaches the terminal
    with sqlite3.connect(db / "graph.sqlite") as conn:
        assert conn.execute("SELECT COUNT(*) FROM records").fetchone()[0] == 10
        assert (db / "graph.sqlite").stat().st_size < 5_000_000


def test_a_graph_file_from_a_newer_version_is_refused_and_kept(tmp_path: Path) -> None:
    db = make_database(tmp_path / "db")
    with sqlite3.connect(db / "graph.sqlite") as conn:
        conn.execute("PRAGMA user_version = 99")
    proc = run_cli("db", "graph", "build", "--db", db)
    assert proc.returncode == 1 and "graph schema version 99" in proc.stderr
    assert "Traceback" not in proc.stderr
    with sqlite3.connect(db / "graph.sqlite") as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 99


def test_a_maintainer_joins_two_records_no_evidence_linked(tmp_path: Path) -> None:
    db = make_database(tmp_path / "db")
    assert run_cli("db", "graph", "build", "--db", db).returncode == 0
    a, b = f"{FANSDB}#fd-look", f"{JAVSTASH}#jv-lisa"
    proc = run_cli("db", "graph", "review", "--db", db, "--accept", a, b)
    assert proc.returncode == 0 and "accepted" in proc.stdout, proc.stderr
    assert run_cli("db", "graph", "build", "--db", db).returncode == 0
    keys = {r["key"] for r in explain(db, "fd-look")["records"]}
    assert keys == {a, b}
