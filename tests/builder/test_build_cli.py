"""`stash-sense-dev stashbox` + `stash-sense build` end to end, as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from buildkit import NAMES, manifest, run_build, stashbox, write_config

from stash_sense_devkit.compare import committed_performers


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stash_sense.cli.app", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )


def test_build_update_info_and_identify(faces_dir: Path, lfw_dev: Path, tmp_path: Path) -> None:
    db = tmp_path / "db"
    with stashbox(faces_dir) as standin:
        config = write_config(tmp_path / "ep.toml", "local", standin.graphql_url, rate_limit=50)
        first = run_build(db, config, "local", "--keep-images")
        assert first.returncode == 0, first.stderr
        assert "local: full pass, 8 performers written this run (complete)" in first.stdout
        m = manifest(db)
        source = m["sources"]["local"]
        assert source["performers_seen"] == 8
        assert source["with_faces"] == 8
        assert source["faces"] == m["counts"]["faces"] >= 14
        assert source["endpoint"] == standin.graphql_url
        kept = list((db / "images" / "local").iterdir())
        assert len(kept) == 16  # --keep-images: every downloaded image, faces or not
        images_before = standin.stats()["counts"]["other"]

        second = run_build(db, config, "local")
        assert second.returncode == 0, second.stderr
        assert "local: incremental pass" in second.stdout
        assert standin.stats()["counts"]["other"] == images_before  # nothing downloaded again
        assert manifest(db)["counts"] == m["counts"]

    info = cli("db", "info", "--db", str(db))
    assert info.returncode == 0, info.stderr
    assert "sources" in info.stdout and "local" in info.stdout

    queries = [str(lfw_dev / name / "3.jpg") for name in NAMES[:3]]
    found = cli("identify", "--db", str(db), "--json", "--top", "1", *queries)
    assert found.returncode == 0, found.stderr
    for line, name in zip(found.stdout.splitlines(), NAMES[:3], strict=True):
        record = json.loads(line)
        assert record["faces"][0]["matches"][0]["name"] == name.replace("_", " ")


def test_wrong_or_missing_api_key_stops_cleanly(faces_dir: Path, tmp_path: Path) -> None:
    key = "box-key-0f9e8d7c"
    db = tmp_path / "db"
    with stashbox(faces_dir, "--api-key", key) as standin:
        config = write_config(tmp_path / "ep.toml", "keyed", standin.graphql_url, rate_limit=50)
        env = {k: v for k, v in os.environ.items() if not k.startswith("STASH_SENSE_")}
        refused = run_build(db, config, "keyed", env=env)
        assert refused.returncode == 2
        errors = [ln for ln in refused.stderr.splitlines() if ln.startswith("error:")]
        assert len(errors) == 1 and "not authorized" in errors[0] and "API key" in errors[0]
        assert "STASH_SENSE_KEYED_API_KEY" in errors[0]
        assert "Traceback" not in refused.stderr

        keyed = {**env, "STASH_SENSE_KEYED_API_KEY": key}
        trial = run_build(db, config, "keyed", "--limit", "3", env=keyed)
        assert trial.returncode == 0, trial.stderr
        # day 2, a new shell without the key: every resume stops, nothing is skipped
        for _ in range(2):
            resumed = run_build(db, config, "keyed", env=env)
            assert resumed.returncode == 2, resumed.stderr
            assert "not authorized" in resumed.stderr and committed_performers(db) == 3
        ok = run_build(db, config, "keyed", env=keyed)
        assert ok.returncode == 0, ok.stderr
        assert key not in ok.stdout + ok.stderr + refused.stdout + refused.stderr
        assert "API key set" in ok.stderr
    assert manifest(db)["sources"]["keyed"]["performers_seen"] == 8


def test_dev_stashbox_refuses_a_missing_faces_folder(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "stash_sense_devkit.cli", "stashbox", "--faces"]
    proc = subprocess.run([*cmd, str(tmp_path / "nope")], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"error: faces folder not found: {tmp_path / 'nope'}"
