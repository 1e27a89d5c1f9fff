"""Fixtures shared by every test area: where the repository and its test data (tests/data) live,
and the small enrolled face database that the scene, sidecar and plugin tests share."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = REPO_ROOT / "tests" / "data"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """tests/data: a few LFW identities and one evaluation scene (see its README)."""
    return DATA_DIR


@pytest.fixture(scope="session")
def test_db(tmp_path_factory: pytest.TempPathFactory, repo_root: Path) -> dict[str, Any]:
    """plugin/tests/lib/make_test_db.py: 0.jpg of eval scene-1's people + 5 distractors, enrolled
    with the real command; its JSON description (db path, performers)."""
    out = tmp_path_factory.mktemp("test-db")
    done = subprocess.run(
        [sys.executable, str(repo_root / "plugin" / "tests" / "lib" / "make_test_db.py"), str(out)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    described: dict[str, Any] = json.loads(done.stdout)
    return described
