"""Fixtures for database tests: a population of synthetic performers and a published database."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from dbsynth import EMBEDDERS, Population, fill

from stash_sense.database import DatabaseWriter


@pytest.fixture
def population() -> Population:
    return Population(30)


@pytest.fixture
def published(tmp_path: Path, population: Population) -> Callable[[], Path]:
    """A database root with the population published once; returns the root."""

    def make() -> Path:
        root = tmp_path / "db"
        with DatabaseWriter.open(root, EMBEDDERS) as w:
            fill(w, population)
            w.publish()
        return root

    return make
