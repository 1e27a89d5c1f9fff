"""Hostile metadata through the builder path: a stash-box stand-in (real HTTP) serves a 10 MB
alias list, a `javascript:` URL and a name of control characters; `stash-sense build` stores
them and the graph keeps each safe or skips its bad part with a reason; text output escapes
control characters."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from stash_sense_devkit.standins.control import make_faces_dir
from stash_sense_devkit.standins.launch import serve_in_subprocess
from stash_sense_devkit.standins.stashbox import CONTROL_NAME, HOSTILE_ALIASES


def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "stash_sense.cli.app", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


def test_hostile_metadata_is_stored_safely_or_skipped(data_dir: Path, tmp_path: Path) -> None:
    faces = make_faces_dir(data_dir / "faces" / "lfw-dev", tmp_path / "f", ["Yao_Ming"], images=1)
    db = tmp_path / "db"
    with serve_in_subprocess("stashbox", ["--faces", str(faces), "--hostile-metadata"]) as url:
        config = tmp_path / "ep.toml"
        config.write_text(f'[endpoints.box]\nurl = "{url}/graphql"\n')
        built = cli("build", "--db", db, "--config", config, "--endpoint", "box")
    assert built.returncode == 0, built.stderr
    assert "graph: full link" in built.stdout
    assert "\x1b" not in built.stdout + built.stderr

    many = json.loads(cli("db", "graph", "explain", "Hostile Aliases", "--db", db, "--json").stdout)
    (record,) = many["records"]
    assert f"aliases: {HOSTILE_ALIASES} listed, the first 200 read" in record["skipped"]
    assert len(record["aliases"]) == 200

    script = json.loads(cli("db", "graph", "explain", "Hostile Url", "--db", db, "--json").stdout)
    (record,) = script["records"]
    assert not any(u.startswith("javascript:") for u in record["urls"])
    assert any("javascript:" in why for why in record["skipped"])

    again = json.loads(cli("db", "graph", "build", "--db", db, "--json").stdout)
    assert again["records_with_skipped_data"] == 3  # the control-character name among them
    review = cli("db", "graph", "review", "--db", db)
    assert review.returncode == 0, review.stderr
    for out in (review.stdout, cli("db", "graph", "explain", "Yao Ming", "--db", db).stdout):
        assert not set(out) & set(CONTROL_NAME)
