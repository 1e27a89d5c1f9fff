"""A small real database: LFW identities enrolled with the `stash-sense` command (real models)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from clikit import DISTRACTORS, PEOPLE, run_cli


@pytest.fixture(scope="session")
def lfw(data_dir: Path) -> Path:
    return data_dir / "faces"


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
