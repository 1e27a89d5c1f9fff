"""Helpers of the library tests: a scenes folder of eval scene-1 copies, and the Stash stand-in
(`stash-sense-dev stash`) over it as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from stash_sense_devkit.standins.launch import free_port, wait_ready


def make_scenes(base: Path, data_dir: Path, copies: int, empty: tuple[int, ...] = ()) -> Path:
    """scene-1..copies: eval scene-1 (symlinked, so all share one updated_at second); each
    id of `empty` an empty folder (a scene whose files are gone)."""
    base.mkdir(parents=True, exist_ok=True)
    for i in range(1, copies + 1):
        (base / f"scene-{i}").symlink_to(data_dir / "scenes" / "scene-1")
    for i in empty:
        (base / f"scene-{i}").mkdir()
    return base


def start_stash(scenes: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    cmd = [sys.executable, "-m", "stash_sense_devkit.cli", "stash", "--scenes", str(scenes)]
    proc = subprocess.Popen(
        [*cmd, "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env=os.environ.copy(),
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    wait_ready(url, proc=proc)
    return proc, url


def stop(proc: subprocess.Popen[Any]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
