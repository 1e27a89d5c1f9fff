"""Two stash-box stand-ins (real HTTP) over the same LFW faces and an endpoints file naming them
boxa and boxb, for the graph tests that walk `stash-sense build`; helpers to read them back."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from graphdb import run_cli

from stash_sense_devkit.standins.control import StandIn, make_faces_dir
from stash_sense_devkit.standins.launch import serve_in_subprocess

NAMES = ["Adam_Sandler", "Celine_Dion", "Kevin_Spacey"]


@contextmanager
def two_boxes(data_dir: Path, tmp_path: Path) -> Iterator[tuple[StandIn, StandIn, Path]]:
    """Box A serves the three NAMES, box B the first two; yields both and the endpoints file."""
    faces = make_faces_dir(data_dir / "faces" / "lfw-dev", tmp_path / "faces", NAMES, images=1)
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
        yield box_a, box_b, config


def ids_by_name(box: StandIn) -> dict[str, str]:
    query = (
        "query($i: PerformerQueryInput!) { queryPerformers(input: $i) { performers { id name } } }"
    )
    variables = {"i": {"page": 1, "per_page": 100, "sort": "NAME", "direction": "ASC"}}
    body = httpx.post(box.graphql_url, json={"query": query, "variables": variables}).json()
    return {p["name"]: p["id"] for p in body["data"]["queryPerformers"]["performers"]}


def explain(db: Path, ident: str) -> dict:  # type: ignore[type-arg]
    proc = run_cli("db", "graph", "explain", ident, "--db", db, "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def graph_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, proc.stderr
    return next(line for line in proc.stdout.splitlines() if line.startswith("graph: "))
