"""The Stash stand-in's configured stash-boxes (`stash-sense-dev stash --stash-box NAME=ENDPOINT`),
as Stash answers `configuration { general { stashBoxes } }`; a malformed one is refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from stash_sense_devkit.standins.launch import serve_in_subprocess

QUERY = "{ configuration { general { stashBoxes { endpoint name max_requests_per_minute } } } }"


def test_configured_stash_boxes_are_answered_in_order(tmp_path: Path) -> None:
    boxes = ["StashDB=https://stashdb.org/graphql", "FansDB=https://fansdb.cc/graphql"]
    args = ["--scenes", str(tmp_path), *(a for b in boxes for a in ("--stash-box", b))]
    with serve_in_subprocess("stash", args) as url:
        answer = httpx.post(f"{url}/graphql", json={"query": QUERY}).json()
    assert answer["data"]["configuration"]["general"]["stashBoxes"] == [
        {
            "endpoint": "https://stashdb.org/graphql",
            "name": "StashDB",
            "max_requests_per_minute": 240,
        },
        {"endpoint": "https://fansdb.cc/graphql", "name": "FansDB", "max_requests_per_minute": 240},
    ]


def test_a_malformed_stash_box_is_refused_with_one_line(tmp_path: Path) -> None:
    for given in ("StashDB", "=https://stashdb.org/graphql", "StashDB=javascript:alert(1)"):
        cmd = [sys.executable, "-m", "stash_sense_devkit.cli", "stash", "--scenes", str(tmp_path)]
        done = subprocess.run(
            [*cmd, "--stash-box", given], capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 2, done.stderr
        assert "give NAME=ENDPOINT" in done.stderr
