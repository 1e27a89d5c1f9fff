"""Scenes tests: videos composed with ffmpeg from LFW pictures, and a small enrolled database."""

from __future__ import annotations

from pathlib import Path

import pytest

from stash_sense_devkit.synth import compose_video


@pytest.fixture(scope="session")
def lfw_dev(data_dir: Path) -> Path:
    return data_dir / "faces" / "lfw-dev"


@pytest.fixture(scope="session")
def two_people_video(tmp_path_factory: pytest.TempPathFactory, lfw_dev: Path) -> Path:
    """8 s: Monica Seles, nobody, Tommy Thompson, both (pictures other than the enrolled 0.jpg)."""
    monica, tommy = lfw_dev / "Monica_Seles" / "3.jpg", lfw_dev / "Tommy_Thompson" / "2.jpg"
    out = tmp_path_factory.mktemp("video") / "two.mp4"
    return compose_video([[monica], [], [tommy], [monica, tommy]], out, size=(640, 360))
