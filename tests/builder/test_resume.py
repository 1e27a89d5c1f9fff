"""kill -9 the build at random points, resume, and end exactly where a clean build ends."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path

from buildkit import build_cmd, manifest, run_build, stashbox, write_config

from stash_sense_devkit.compare import committed_performers, read_contents


def kill_after_commit(cmd: list[str], db: Path, goal: int, delay_s: float) -> bool:
    """Start a build, wait until `goal` performers are committed and `delay_s` more, SIGKILL it;
    False when it finished first."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while proc.poll() is None and committed_performers(db) < goal:
        time.sleep(0.05)
    try:
        proc.wait(timeout=delay_s)
        return False
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        return True


def test_killed_and_resumed_build_equals_a_clean_build(faces_dir: Path, tmp_path: Path) -> None:
    seed = int(os.environ.get("RESUME_SEED", time.time()))
    rng = random.Random(seed)
    with stashbox(faces_dir, "--performers", "16", "--latency-ms", "50") as standin:
        config = write_config(
            tmp_path / "ep.toml", "local", standin.graphql_url, rate_limit=10, page_size=5
        )
        clean_db = tmp_path / "clean"
        clean = run_build(clean_db, config, "local")
        assert clean.returncode == 0, clean.stderr

        db = tmp_path / "killed"
        cmd = build_cmd(db, config, "local")
        killed = []
        progress = []
        for goal in sorted(rng.sample(range(12), 3)):
            goal = max(goal, committed_performers(db))
            killed.append(kill_after_commit(cmd, db, goal, rng.uniform(0.0, 0.4)))
            progress.append(committed_performers(db))
        resumed = run_build(db, config, "local")
        assert resumed.returncode == 0, resumed.stderr

    assert sum(killed) >= 2, f"seed {seed}: killed {killed}, progress {progress}"
    diff = read_contents(db).differences(read_contents(clean_db))
    assert diff == [], f"seed {seed}: {diff}"
    clean_stats = manifest(clean_db)["sources"]["local"]
    resumed_stats = manifest(db)["sources"]["local"]
    for key in ("performers_seen", "with_faces", "faces", "images_seen", "skipped"):
        assert resumed_stats[key] == clean_stats[key], (key, seed)
    assert clean_stats["performers_seen"] == 16
