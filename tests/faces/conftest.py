"""Shared fixtures: the evaluation photos and one engine for the whole session."""

from __future__ import annotations

from pathlib import Path

import pytest

from stash_sense.faces import FaceEngine

EVAL = Path(__file__).resolve().parents[1] / "data" / "faces"


def eval_dir(name: str) -> Path:
    path = EVAL / name
    if not path.is_dir():
        pytest.skip(f"evaluation data missing: {path}")
    return path


@pytest.fixture(scope="session")
def lfw_dev() -> Path:
    return eval_dir("lfw-dev")


@pytest.fixture(scope="session")
def hard_queries() -> Path:
    return eval_dir("lfw-dev-hard-queries")


@pytest.fixture(scope="session")
def engine() -> FaceEngine:
    return FaceEngine.default().load()
