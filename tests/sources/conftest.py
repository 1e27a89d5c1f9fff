"""Stand-ins for the source clients' tests: real uvicorn processes over a few LFW identities."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from stash_sense_devkit.standins.control import StandIn, make_faces_dir
from stash_sense_devkit.standins.launch import serve_in_subprocess

NAMES = ["Adam_Sandler", "Celine_Dion", "Kevin_Spacey", "Michelle_Yeoh", "Yao_Ming"]


@pytest.fixture(scope="session")
def faces_dir(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("source-faces")
    return make_faces_dir(data_dir / "faces" / "lfw-dev", dest, NAMES, images=2)


@pytest.fixture(scope="session")
def _stashbox_server(faces_dir: Path) -> Iterator[StandIn]:
    args = ["--faces", str(faces_dir), "--performers", "23", "--max-per-page", "8", "--bad-input"]
    with serve_in_subprocess("stashbox", args) as base:
        yield StandIn(base)


@pytest.fixture
def stashbox(_stashbox_server: StandIn) -> Iterator[StandIn]:
    """The session's stash-box stand-in (23 performers + bad input), faults reset after use."""
    yield _stashbox_server
    _stashbox_server.reset()


@pytest.fixture(scope="session")
def _tpdb_server(faces_dir: Path) -> Iterator[StandIn]:
    with serve_in_subprocess("tpdb", ["--faces", str(faces_dir), "--performers", "12"]) as base:
        yield StandIn(base)


@pytest.fixture
def tpdb(_tpdb_server: StandIn) -> Iterator[StandIn]:
    yield _tpdb_server
    _tpdb_server.reset()
