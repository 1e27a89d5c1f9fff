"""Upstream changes while a pass runs (deletions and merges that shift offset pages, edits of
performers already written, equal creation times that the server orders differently on every
request), and a key removed mid-build: the database still ends equal to a clean build of the
final upstream state, performer for performer and face for face."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from buildkit import build_cmd, manifest, run_build, stashbox, write_config

from stash_sense_devkit.compare import committed_performers, read_contents


def wait_for(db: Path, proc: subprocess.Popen[str], goal: int) -> None:
    while proc.poll() is None and committed_performers(db) < goal:
        time.sleep(0.05)
    assert proc.poll() is None, "the build finished before the upstream changes"


def test_changes_during_a_pass_end_equal_to_a_clean_build(faces_dir: Path, tmp_path: Path) -> None:
    # 64 performers: the pager (a window of 32 performers and 3 pages ahead of the writer) is
    # still reading pages when the changes land
    args = ("--performers", "64", "--images-per-performer", "1", "--equal-created", "4")
    with stashbox(faces_dir, *args) as standin:
        config = write_config(
            tmp_path / "ep.toml", "box", standin.graphql_url, rate_limit=15, page_size=4
        )
        ids = standin.stats()["ids"]
        db = tmp_path / "db"
        proc = subprocess.Popen(
            build_cmd(db, config, "box"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        wait_for(db, proc, 8)
        standin.edit("destroy", id=ids[1])  # written already: later pages shift by one
        standin.edit("merge", sources=[ids[2]], target=ids[60])  # written, into one to come
        standin.edit("merge", sources=[ids[62]], target=ids[3])  # to come, into one written
        standin.edit("update", id=ids[0], set={"name": "Renamed While Building"})
        standin.edit("update", id=ids[63], set={"name": "Renamed Before Its Turn"})
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        clean = run_build(tmp_path / "clean", config, "box")
        assert clean.returncode == 0, clean.stderr
    diff = read_contents(db).differences(read_contents(tmp_path / "clean"))
    assert diff == []
    stats = manifest(db)["sources"]["box"]
    assert (stats["performers_seen"], stats["deleted"], stats["merged"]) == (61, 1, 2)
    assert manifest(tmp_path / "clean")["sources"]["box"]["merged"] == 2


def test_a_key_removed_mid_build_stops_with_exit_2_and_resumes(
    faces_dir: Path, tmp_path: Path
) -> None:
    args = ("--performers", "64", "--images-per-performer", "1")  # still paging at the change
    with stashbox(faces_dir, *args) as standin:
        standin.configure(api_key="key-one")
        config = write_config(
            tmp_path / "ep.toml", "box", standin.graphql_url, rate_limit=15, page_size=4
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("STASH_SENSE_")}
        db = tmp_path / "db"
        proc = subprocess.Popen(
            build_cmd(db, config, "box"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**env, "STASH_SENSE_BOX_API_KEY": "key-one"},
        )
        wait_for(db, proc, 4)
        standin.configure(api_key="key-two")  # the key was revoked and replaced
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 2, err
        assert "not authorized" in err and "STASH_SENSE_BOX_API_KEY" in err
        assert "key-one" not in err and "Traceback" not in err
        keyed = {**env, "STASH_SENSE_BOX_API_KEY": "key-two"}
        resumed = run_build(db, config, "box", env=keyed)
        assert resumed.returncode == 0, resumed.stderr
        clean = run_build(tmp_path / "clean", config, "box", env=keyed)
        assert clean.returncode == 0, clean.stderr
    assert read_contents(db).differences(read_contents(tmp_path / "clean")) == []
