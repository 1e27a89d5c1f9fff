"""Builder tests: real stash-box stand-ins (uvicorn subprocesses) over a few LFW identities, the
real face engine, real SQLite and Voyager; builds in-process or through `stash-sense build`."""

from __future__ import annotations

from pathlib import Path

import pytest
from buildkit import NAMES

from stash_sense.faces import FaceEngine
from stash_sense_devkit.standins.control import make_faces_dir


@pytest.fixture(scope="session")
def lfw_dev(data_dir: Path) -> Path:
    return data_dir / "faces" / "lfw-dev"


@pytest.fixture(scope="session")
def faces_dir(lfw_dev: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eight people, two photos each (0.jpg, 1.jpg); 3.jpg of each is left for queries."""
    return make_faces_dir(lfw_dev, tmp_path_factory.mktemp("builder-faces"), NAMES, images=2)


@pytest.fixture(scope="session")
def engine() -> FaceEngine:
    return FaceEngine.default().load()
