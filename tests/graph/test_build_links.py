"""`stash-sense build` relinks the identity graph after it writes, over two stash-box stand-ins
(real HTTP, the real face engine): a rebuild of one endpoint weighs only what changed; a
performer that endpoint adds later joins her identity under its id with every source's faces;
an edit that brings conflicting evidence splits an identity; identify's matches carry the
identity with every endpoint's stash id."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx

from stash_sense_devkit.standins.control import StandIn, make_faces_dir
from stash_sense_devkit.standins.launch import serve_in_subprocess

NAMES = ["Adam_Sandler", "Celine_Dion", "Kevin_Spacey"]


def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "stash_sense.cli.app", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


def ids_by_name(box: StandIn) -> dict[str, str]:
    query = (
        "query($i: PerformerQueryInput!) { queryPerformers(input: $i) { performers { id name } } }"
    )
    variables = {"i": {"page": 1, "per_page": 100, "sort": "NAME", "direction": "ASC"}}
    body = httpx.post(box.graphql_url, json={"query": query, "variables": variables}).json()
    return {p["name"]: p["id"] for p in body["data"]["queryPerformers"]["performers"]}


def explain(db: Path, ident: str) -> dict:  # type: ignore[type-arg]
    proc = cli("db", "graph", "explain", ident, "--db", db, "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def graph_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, proc.stderr
    return next(line for line in proc.stdout.splitlines() if line.startswith("graph: "))


def test_build_relinks_what_changed_and_reconciles(data_dir: Path, tmp_path: Path) -> None:
    lfw = data_dir / "faces" / "lfw-dev"
    faces = make_faces_dir(lfw, tmp_path / "faces", NAMES, images=1)
    db = tmp_path / "db"
    with (
        serve_in_subprocess("stashbox", ["--faces", str(faces)]) as a_url,
        serve_in_subprocess("stashbox", ["--faces", str(faces), "--performers", "2"]) as b_url,
    ):
        box_a, box_b = StandIn(a_url), StandIn(b_url)
        config = tmp_path / "ep.toml"
        config.write_text(
            f'[endpoints.boxa]\nurl = "{box_a.graphql_url}"\n'
            f'[endpoints.boxb]\nurl = "{box_b.graphql_url}"\n'
        )
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
