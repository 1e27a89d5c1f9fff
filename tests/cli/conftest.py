"""A small real database: LFW identities enrolled with the `stash-sense` command (real models)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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


@pytest.fixture(scope="session")
def lfw(shared_dir: Path) -> Path:
    return shared_dir / "eval" / "faces"


@pytest.fixture(scope="session")
def enrolled(tmp_path_factory: pytest.TempPathFactory, lfw: Path) -> tuple[Path, Path]:
    """(database root, enrolment folder): 0.jpg of each person plus three distractors."""
    base = tmp_path_factory.mktemp("cli")
    src = base / "src"
    for name in PEOPLE:
        (src / name).mkdir(parents=True)
        shutil.copy(lfw / "lfw-dev" / name / "0.jpg", src / name / "0.jpg")
    for name in DISTRACTORS:
        shutil.copytree(lfw / "lfw-dev-distractors" / name, src / name)
    db = base / "db"
    run_cli("db", "enroll", "--db", db, src, check=True)
    return db, src
