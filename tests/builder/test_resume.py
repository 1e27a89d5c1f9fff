"""kill -9 the build at random moments, resume, and end exactly where a clean build ends."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path

from buildkit import build_cmd, manifest, run_build, stashbox, write_config

from stash_sense.builder.compare import read_contents


def kill_at(cmd: list[str], after_s: float) -> bool:
    """Start `cmd`, SIGKILL it after `after_s`; False when it had finished already."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        proc.wait(timeout=after_s)
        return False
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        return True


def test_killed_and_resumed_build_equals_a_clean_build(faces_dir: Path, tmp_path: Path) -> None:
    seed = int(os.environ.get("RESUME_SEED", time.time()))
    rng = random.Random(seed)
    with stashbox(faces_dir, "--performers", "24", "--latency-ms", "20") as standin:
        config = write_config(
            tmp_path / "ep.toml", "local", standin.graphql_url, rate_limit=25, page_size=10
        )
        clean_db = tmp_path / "clean"
        clean = run_build(clean_db, config, "local")
        assert clean.returncode == 0, clean.stderr

        db = tmp_path / "killed"
        cmd = build_cmd(db, config, "local")
        kills = [kill_at(cmd, rng.uniform(1.2, 3.5)) for _ in range(3)]
        resumed = run_build(db, config, "local")
        assert resumed.returncode == 0, resumed.stderr

    assert any(kills), f"no build was killed (seed {seed})"
    assert "full pass" in resumed.stdout
    diff = read_contents(db).differences(read_contents(clean_db))
    assert diff == [], f"seed {seed}: {diff}"
    clean_stats = manifest(clean_db)["sources"]["local"]
    resumed_stats = manifest(db)["sources"]["local"]
    for key in ("performers_seen", "with_faces", "faces", "skipped"):
        assert resumed_stats[key] == clean_stats[key], (key, seed)
    assert clean_stats["performers_seen"] == 24
