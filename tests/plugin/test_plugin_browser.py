"""Runs the plugin's browser tests (node --test in plugin/tests) so `make test` covers them.

They drive Debian's chromium with playwright-core against the harness page, the Stash stand-in
and the real sidecar (see plugin/tests/test/plugin.test.mjs). Needs `make node-deps` (npm ci in
plugin/tests) and `make system-deps` (chromium, ffmpeg).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parents[2] / "plugin" / "tests"
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
EXPECTED_TESTS = 36


@pytest.mark.timeout(1500)
def test_plugin_in_the_browser() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed (the plugin's browser tests need Node.js 20+)")
    if not (TESTS_DIR / "node_modules" / "playwright-core").is_dir():
        pytest.fail("plugin/tests/node_modules is missing: run `make node-deps`")
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make system-deps`")
    done = subprocess.run(
        [node, "--test", "--test-concurrency=1", "--test-reporter=spec", "test/"],
        cwd=TESTS_DIR,
        # stash-sense and python from the environment running pytest (a git worktree has no .venv).
        env={**os.environ, "STASH_SENSE_BIN": str(Path(sys.executable).parent)},
        capture_output=True,
        text=True,
        timeout=1450,
    )
    output = done.stdout + done.stderr
    counts = {k: int(v) for k, v in re.findall(r"^\S* ?(tests|pass|fail) (\d+)$", output, re.M)}
    assert done.returncode == 0, output[-6000:]
    assert counts.get("fail") == 0, output[-6000:]
    assert counts.get("pass", 0) >= EXPECTED_TESTS, output[-6000:]
