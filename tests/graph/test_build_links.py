"""`stash-sense build` relinks the identity graph after it writes, over two stash-box stand-ins
(real HTTP, the real face engine): a rebuild of one endpoint weighs only what changed; a
performer that endpoint adds later joins her identity under its id with every source's faces;
an edit that brings conflicting evidence splits an identity; identify's matches carry the
identity with every endpoint's stash id."""

from __future__ import annotations

import json
from pathlib import Path

from graphdb import run_cli as cli
from twoboxes import explain, graph_line, ids_by_name, two_boxes


def test_build_relinks_what_changed_and_reconciles(data_dir: Path, tmp_path: Path) -> None:
    lfw = data_dir / "faces" / "lfw-dev"
    db = tmp_path / "db"
    with two_boxes(data_dir, tmp_path) as (box_a, box_b, config):
        adam_a = ids_by_name(box_a)["Adam Sandler"]
        box_a.edit("update", id=adam_a, set={"country": "US"})
        build = ("build", "--db", db, "--config", config, "--endpoint")
        assert "full link" in graph_line(cli(*build, "boxa"))
        line = graph_line(cli(*build, "boxb"))  # two records of B join A's identities
        assert "incremental link: 2 records new or changed" in line, line
        adam = explain(db, adam_a)
        assert len(adam["records"]) == 2 and adam["faces"] == 2
        kevin_before = explain(db, f"{box_a.graphql_url}#{ids_by_name(box_a)['Kevin Spacey']}")
        assert len(kevin_before["records"]) == 1

        # B adds Kevin later, and an edit gives B's Adam another country
        kevin_b = box_b.edit("create", name="Kevin Spacey", folder="Kevin_Spacey")["id"]
        box_b.edit("update", id=ids_by_name(box_b)["Adam Sandler"], set={"country": "FR"})
        line = graph_line(cli(*build, "boxb"))
        assert "incremental link: 2 records new or changed, 0 removed" in line, line
        assert "1 joined" in line and "1 splits" in line, line
    kevin = explain(db, f"{box_b.graphql_url}#{kevin_b}")
    assert kevin["id"] == kevin_before["id"] and kevin["faces"] == 2
    assert {s["endpoint"] for s in kevin["stash_ids"]} == {box_a.graphql_url, box_b.graphql_url}
    parts = [explain(db, r["key"]) for r in adam["records"]]  # one part keeps the id
    assert [len(p["records"]) for p in parts] == [1, 1]
    assert sorted(p["id"] == adam["id"] for p in parts) == [False, True]
    review = json.loads(cli("db", "graph", "review", "--db", db, "--json").stdout)["links"]
    assert any("conflicting country" in lk["reason"] for lk in review)

    photo = lfw / "Kevin_Spacey" / "1.jpg"
    found = cli("identify", "--db", db, "--json", "--top", "1", photo)
    assert found.returncode == 0, found.stderr
    (match,) = json.loads(found.stdout)["faces"][0]["matches"]
    assert match["identity"]["id"] == kevin["id"] and match["identity"]["faces"] == 2
    assert match["identity"]["stash_ids"] == kevin["stash_ids"]
