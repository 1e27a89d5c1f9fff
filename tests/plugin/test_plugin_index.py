"""The plugin-source generator: a reproducible zip and an index.yml Stash can install from."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

PLUGIN_ROOT = Path(__file__).resolve().parents[2] / "plugin"
SCRIPT = PLUGIN_ROOT / "build_index.py"


def run_build(
    out: Path, root: Path = PLUGIN_ROOT, epoch: str | None = "1764000000"
) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(out.parent)}
    if epoch is not None:
        env["SOURCE_DATE_EPOCH"] = epoch
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--root", str(root), "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def parse_index(text: str) -> list[dict[str, object]]:
    """index.yml as written (JSON-quoted scalars), read back without a YAML library."""
    entries: list[dict[str, object]] = []
    for line in text.splitlines():
        key, _, value = line.strip().removeprefix("- ").partition(": ")
        if line.startswith("- "):
            entries.append({})
        if value:
            entries[-1][key] = json.loads(value)
    return entries


def test_index_lists_the_plugin_with_the_zip_sha256(tmp_path: Path) -> None:
    result = run_build(tmp_path)
    assert result.returncode == 0, result.stderr
    (entry,) = parse_index((tmp_path / "index.yml").read_text())
    assert entry["id"] == "stash-sense"
    assert entry["name"] == "Stash Sense"
    assert entry["version"] == "0.2.0"
    assert entry["date"] == "2025-11-24 16:00:00"
    assert entry["path"] == "stash-sense.zip"
    assert entry["requires"] == []
    assert "description" in entry
    zip_bytes = (tmp_path / "stash-sense.zip").read_bytes()
    assert entry["sha256"] == hashlib.sha256(zip_bytes).hexdigest()


def test_zip_holds_the_plugin_files_at_its_root(tmp_path: Path) -> None:
    assert run_build(tmp_path).returncode == 0
    with zipfile.ZipFile(tmp_path / "stash-sense.zip") as archive:
        names = archive.namelist()
        assert names == sorted(names)
        scripts = {"queries.js", "stash.js", "sidecar.js", "modal.js", "stash-sense.js"}
        assert {"stash-sense.yml", *scripts} <= set(names)
        assert {"stash-sense.css", "sidecar_proxy.py"} <= set(names)
        yml = archive.read("stash-sense.yml").decode()
    for listed in (*scripts, "stash-sense.css"):
        assert f"- {listed}" in yml, "every file the yml names is shipped"


def test_zip_is_reproducible(tmp_path: Path) -> None:
    assert run_build(tmp_path / "a").returncode == 0
    assert run_build(tmp_path / "b").returncode == 0
    assert (tmp_path / "a" / "stash-sense.zip").read_bytes() == (
        tmp_path / "b" / "stash-sense.zip"
    ).read_bytes()
    assert (tmp_path / "a" / "index.yml").read_text() == (tmp_path / "b" / "index.yml").read_text()


@pytest.mark.parametrize("broken", ["no-yml", "no-version"])
def test_bad_plugin_folder_is_one_clear_error(tmp_path: Path, broken: str) -> None:
    plugin = tmp_path / "root" / "demo"
    plugin.mkdir(parents=True)
    if broken == "no-version":
        (plugin / "demo.yml").write_text("name: Demo\n")
    result = run_build(tmp_path / "out", root=tmp_path / "root")
    assert result.returncode == 1
    assert result.stderr.startswith("error: ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out" / "index.yml").exists()


def test_date_is_the_last_commit_or_the_newest_uncommitted_change(tmp_path: Path) -> None:
    """Stash offers an update only when the index's date is later than the installed one."""
    if shutil.which("git") is None:
        pytest.fail("git is not installed")
    root = tmp_path / "root"
    shutil.copytree(PLUGIN_ROOT / "stash-sense", root / "stash-sense")
    for file in (root / "stash-sense").iterdir():
        os.utime(file, (1500000000, 1500000000))  # 2017, older than the commit
    committed = "2020-01-02T03:04:05Z"
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.org",
        "GIT_AUTHOR_DATE": committed,
        "GIT_COMMITTER_DATE": committed,
    }
    for args in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "plugin"]):
        subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)

    def date() -> object:
        assert (done := run_build(tmp_path / "out", root=root, epoch=None)).returncode == 0, done
        (entry,) = parse_index((tmp_path / "out" / "index.yml").read_text())
        return entry["date"]

    assert date() == "2020-01-02 03:04:05"
    changed = root / "stash-sense" / "stash-sense.css"
    changed.write_text(changed.read_text() + "\n/* changed */\n")
    os.utime(changed, (1735700000, 1735700000))  # 2025-01-01 02:53:20 UTC
    assert date() == "2025-01-01 02:53:20"
