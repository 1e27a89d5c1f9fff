"""The stash-box stand-in as JAVStash (same schema, names in Japanese script with kana and
romaji aliases), over real HTTP: names the graph reads as one."""

from __future__ import annotations

from pathlib import Path

import httpx

from stash_sense.graph.names import name_keys
from stash_sense_devkit.standins.control import StandIn, make_faces_dir
from stash_sense_devkit.standins.launch import serve_in_thread
from stash_sense_devkit.standins.stashbox import StashBoxOptions, stashbox_app

QUERY = """query($input: PerformerQueryInput!) {
  queryPerformers(input: $input) { count performers { id name aliases } } }"""


def test_javstash_names_performers_in_japanese_script(data_dir: Path, tmp_path: Path) -> None:
    names = ["Adam_Sandler", "Celine_Dion"]
    faces = make_faces_dir(data_dir / "faces" / "lfw-dev", tmp_path, names, images=1)
    app = stashbox_app(StashBoxOptions(faces_dir=faces, flavour="javstash"))
    with serve_in_thread(app) as base:
        variables = {"input": {"page": 1, "per_page": 10, "sort": "NAME", "direction": "ASC"}}
        body = {"query": QUERY, "variables": variables}
        answer = httpx.post(StandIn(base).graphql_url, json=body, timeout=10).json()
    assert "errors" not in answer
    performers = answer["data"]["queryPerformers"]["performers"]
    assert len(performers) == 2
    for p in performers:
        assert all("\u4e00" <= ch <= "\u9fff" or ch == "々" for ch in p["name"]), p["name"]
        kana, romaji = p["aliases"]
        assert name_keys(kana) & name_keys(romaji)  # the reading and the romaji agree
