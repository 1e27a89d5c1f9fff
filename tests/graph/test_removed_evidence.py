"""Evidence a source removes: after a rebuild of an endpoint its records' aliases and URLs are the
source's current ones (what another source still lists stays), so an alias or URL an edit removes
no longer links, and an identity held together only by it splits; a maintainer's acceptance is
still kept. Over two stash-box stand-ins (real HTTP, the real face engine) and over the writer."""

from __future__ import annotations

import json
from pathlib import Path

from graphdb import EMBEDDERS, face, run_cli
from twoboxes import explain as explain_cli
from twoboxes import graph_line, ids_by_name, two_boxes

from stash_sense.database import DatabaseWriter, FaceDatabase, PerformerRecord
from stash_sense.graph import build_graph, explain, record_decision
from stash_sense.graph.model import FANSDB, STASHDB, THEPORNDB

TWITTER = "https://twitter.com/KevinSpacey/"


def test_an_alias_or_url_a_source_removes_splits_what_only_it_held(
    data_dir: Path, tmp_path: Path
) -> None:
    db = tmp_path / "db"
    with two_boxes(data_dir, tmp_path) as (box_a, box_b, config):
        on_a, on_b = ids_by_name(box_a), ids_by_name(box_b)
        # B lists Adam under a stage name with his name as an alias (name + face link them),
        # and Kevin under another name with A's profile URL in another form (URL + face)
        sandy = on_b["Adam Sandler"]
        box_b.edit("update", id=sandy, set={"name": "Sandy Adams", "aliases": ["Adam Sandler"]})
        box_a.edit("update", id=on_a["Kevin Spacey"], set={"urls": ["https://x.com/kevinspacey"]})
        keyser = box_b.edit("create", name="Keyser Soze", folder="Kevin_Spacey")["id"]
        box_b.edit("update", id=keyser, set={"urls": [TWITTER]})
        build = ("build", "--db", db, "--config", config, "--endpoint")
        graph_line(run_cli(*build, "boxa"))
        graph_line(run_cli(*build, "boxb"))
        before = {
            n: explain_cli(db, on_a[n]) for n in ("Adam Sandler", "Celine Dion", "Kevin Spacey")
        }
        assert [len(i["records"]) for i in before.values()] == [2, 2, 2]

        box_b.edit("update", id=sandy, set={"aliases": []})  # the alias goes
        box_b.edit("update", id=keyser, set={"urls": []})  # the URL goes
        line = graph_line(run_cli(*build, "boxb"))
        assert "incremental link: 2 records new or changed, 0 removed" in line, line
        assert "2 splits" in line, line
    for name in ("Adam Sandler", "Kevin Spacey"):
        parts = [explain_cli(db, r["key"]) for r in before[name]["records"]]
        assert [len(p["records"]) for p in parts] == [1, 1], name
        assert sorted(p["id"] == before[name]["id"] for p in parts) == [False, True]
    assert explain_cli(db, on_a["Celine Dion"]) == before["Celine Dion"]  # nothing else changes
    sandy_now = explain_cli(db, f"{box_b.graphql_url}#{sandy}")
    assert sandy_now["records"][0]["aliases"] == []
    review = json.loads(run_cli("db", "graph", "review", "--db", db, "--json").stdout)["links"]
    assert len([lk for lk in review if "face alone" in lk["reason"]]) >= 2, review


def test_a_source_drops_only_what_it_listed_and_a_decision_still_holds(tmp_path: Path) -> None:
    db = tmp_path / "db"
    jane = PerformerRecord(
        "Jane Doe",
        aliases=["JD", "Janie"],
        urls=[("https://twitter.com/janedoexx", "twitter")],
        stash_ids=[(STASHDB, "sd-jane")],
        primary_source=STASHDB,
    )
    tpdb = PerformerRecord(  # ThePornDB lists "Janie" too and links StashDB's record
        "Jane Doe",
        aliases=["Janie"],
        stash_ids=[(THEPORNDB, "tp-jane"), (STASHDB, "sd-jane")],
        primary_source=THEPORNDB,
    )
    fans = PerformerRecord("JD", stash_ids=[(FANSDB, "fd-jd")], primary_source=FANSDB)
    with DatabaseWriter.open(db, EMBEDDERS) as writer:
        pid = writer.upsert_performer(jane, STASHDB, current=True)
        writer.add_face(pid, STASHDB, "https://img.example/1.jpg", face(1, 0.2))
        writer.upsert_performer(tpdb, THEPORNDB, current=True)
        other = writer.upsert_performer(fans, FANSDB, current=True)
        writer.add_face(other, FANSDB, "https://img.example/2.jpg", face(1, 0.2))
        writer.publish()
    assert build_graph(db).multi_source == 1
    key_a, key_b = f"{STASHDB}#sd-jane", f"{FANSDB}#fd-jd"
    record_decision(db / "graph-decisions.json", key_a, key_b, accept=True)
    build_graph(db)
    with DatabaseWriter.open(db, EMBEDDERS) as writer:  # StashDB drops both aliases and the URL
        gone = PerformerRecord("Jane Doe", stash_ids=[(STASHDB, "sd-jane")], primary_source=STASHDB)
        writer.upsert_performer(gone, STASHDB, current=True)
        writer.publish()
    with FaceDatabase.open(db) as fdb:
        assert [a for (a,) in fdb.query("SELECT alias FROM aliases")] == ["Janie"]
        assert list(fdb.query("SELECT url FROM external_urls")) == []
    summary = build_graph(db)
    assert summary.mode == "incremental" and summary.changes.splits == 0
    joined = explain(db / "graph.sqlite", key_b)
    assert joined is not None and {r.key for r in joined.records} == {key_a, key_b}
