"""Command-line test helpers: the people they enrol, and running `stash-sense` as a user would."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PEOPLE = ["Abdullah_Gul", "Adam_Sandler", "Celine_Dion", "Denzel_Washington", "Diana_Krall"]
DISTRACTORS = ["Ahmed_Ghazi", "Alanis_Morissette", "Alicia_Witt"]


def run_cli(*args: str | Path, check: bool = False) -> subprocess.CompletedProcess[str]:
    """Run `stash-sense ARGS` in a fresh process, as a user would."""
    cmd = [sys.executable, "-m", "stash_sense.cli.app", *map(str, args)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    if check and proc.returncode != 0:
        raise AssertionError(f"{cmd} failed ({proc.returncode}): {proc.stderr}")
    return proc


def error_lines(stderr: str) -> list[str]:
    """The non-blank lines of stderr (OpenCV's log lines are silenced, so none are filtered)."""
    return [line for line in stderr.splitlines() if line.strip()]
