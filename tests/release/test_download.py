"""Downloads that fail on this side: a full disk and a part name that leaves its folder end as one
clear error line, never a traceback, and nothing is written outside the download folder."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from relsynth import Host, World
from test_bad_releases import V3, resign, run_update

from stash_sense.release.download import ReleaseHost
from stash_sense.release.errors import ReleaseError


def _first_part(served: Path) -> dict:
    envelope = json.loads((served / "stage3" / V3 / "full.release.json").read_text())
    return dict(envelope["manifest"]["parts"][0])


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_disk_is_one_release_error(world: World, host_for: Callable[..., Host]) -> None:
    part = _first_part(world.served)
    host = host_for(world.served)
    with ReleaseHost(f"{host.url}/stage3/index.json") as client:
        url = client.url(f"{V3}/{part['name']}")
        with pytest.raises(ReleaseError) as err:
            client.download(url, Path("/dev/full"), part["size"], part["sha256"], lambda _: None)
    assert "No space left on device" in str(err.value) and "\n" not in str(err.value)


def test_a_write_failure_during_update_is_one_line(
    world: World, host_for: Callable[..., Host], tmp_path: Path
) -> None:
    """A file size limit (EFBIG at the write, as a full disk gives ENOSPC) during `db update`."""
    host = host_for(world.served)
    limit = _first_part(world.served)["size"] // 2

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    done = subprocess.run(
        [sys.executable, "-m", "stash_sense.cli.app", "db", "update", "--db", str(tmp_path / "db"),
         "--index", f"{host.url}/stage3/index.json", "--keys", str(world.keys_json)],
        capture_output=True, text=True, timeout=120, env=dict(os.environ),
        preexec_fn=small_files, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and "cannot write" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


@pytest.mark.parametrize("name", ["..", ".", "a\\b"])
def test_a_part_name_that_leaves_its_folder_is_refused(
    world: World, served: Path, host_for: Callable[..., Host], tmp_path: Path, name: str
) -> None:
    def rename(manifest: dict) -> None:
        manifest["parts"][0]["name"] = name

    resign(served / "stage3" / V3 / "full.release.json", world.key, rename)
    done = run_update(tmp_path / "db", host_for(served), world)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "bad file name in the manifest" in done.stderr
    assert not (tmp_path / "db" / "current").exists()
