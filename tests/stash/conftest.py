"""The Stash stand-in (`stash-sense-dev stash`) as a subprocess over a small scenes folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from standin import start_stand_in, stop


@pytest.fixture(scope="session")
def stash_scenes(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    """scene-1: eval scene-1 (sprite, VTT, video); scene-2: the same video only."""
    base = tmp_path_factory.mktemp("stash-scenes")
    (base / "scene-1").symlink_to(data_dir / "scenes" / "scene-1")
    (base / "scene-2").mkdir()
    (base / "scene-2" / "scene.mp4").symlink_to(data_dir / "scenes" / "scene-1" / "scene.mp4")
    return base


@pytest.fixture(scope="module")
def stand_in(stash_scenes: Path) -> Iterator[str]:
    proc, url = start_stand_in(stash_scenes)
    try:
        yield url
    finally:
        stop(proc)
