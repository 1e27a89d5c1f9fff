"""docker/entrypoint.sh run outside Docker, with this checkout's `stash-sense` on PATH: what the
first start says about a missing database. The sidecar it then starts is given a port it refuses,
so each run ends at once (the serve itself is docker/smoke-test.sh's part)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ENTRYPOINT = Path(__file__).resolve().parents[2] / "docker" / "entrypoint.sh"


def first_start(tmp_path: Path, **env: str) -> str:
    """The entrypoint's stderr for a start on an empty data folder."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("STASH_SENSE_")}
    environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{environ['PATH']}"
    environ |= {"STASH_SENSE_DB": str(tmp_path / "db"),
                "STASH_SENSE_DATA_DIR": str(tmp_path / "state"), **env}  # fmt: skip
    done = subprocess.run(["sh", str(ENTRYPOINT), "serve", "--port", "not-a-port"], env=environ,
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 2 and "--port" in done.stderr, done.stderr
    return done.stderr


def test_without_a_release_index_it_says_to_set_one(tmp_path: Path) -> None:
    said = first_start(tmp_path)
    assert f"no usable database at {tmp_path / 'db'}" in said
    assert "set STASH_SENSE_RELEASE_INDEX to download one" in said


def test_with_automatic_download_off_it_says_so_not_to_set_the_index(tmp_path: Path) -> None:
    said = first_start(tmp_path, STASH_SENSE_RELEASE_INDEX="http://127.0.0.1:9/index.json",
                       STASH_SENSE_AUTO_DOWNLOAD="no")  # fmt: skip
    assert "set STASH_SENSE_RELEASE_INDEX" not in said, said
    assert "STASH_SENSE_AUTO_DOWNLOAD=no" in said
    assert "POST /database/update" in said and "db update" in said
