"""The sidecar's test world: a face database enrolled from LFW with the real command, the Stash
stand-in (real Stash schema) over scenes made with ffmpeg, and `stash-sense serve` over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sidecarproc import Sidecar, start_sidecar

from stash_sense_devkit.standins.launch import serve_in_subprocess
from stash_sense_devkit.synth import compose_video, make_sprite


@pytest.fixture(scope="session")
def scenes(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    """scene-1: eval scene-1 (sprite); scene-2: composed video, no sprite; scene-3: composed
    video with a broken VTT; scene-4: a video with nobody in it; scene-5: composed video with a
    sprite sheet made by ffmpeg."""
    base = tmp_path_factory.mktemp("scenes")
    (base / "scene-1").symlink_to(data_dir / "scenes" / "scene-1")
    lfw = data_dir / "faces" / "lfw-dev"
    # pictures that match their person within the open-set "possible" tier even when shrunk
    # into a video frame (Monica_Seles/2.jpg, at 0.56 as a photo, falls to "unlikely" there)
    monica, tommy, ali = (
        lfw / n / f"{k}.jpg"
        for n, k in (("Monica_Seles", 4), ("Tommy_Thompson", 2), ("Ali_Naimi", 2))
    )
    compose_video([[monica], [], [tommy], [monica, tommy]], base / "scene-2" / "scene.mp4")
    compose_video([[ali]], base / "scene-3" / "scene.mp4", shot_s=3.0)
    (base / "scene-3" / "scene_sprite.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    (base / "scene-3" / "scene_thumbs.vtt").write_text("WEBVTT\n\n00:00.000 --> garbage\nx\n")
    compose_video([[], []], base / "scene-4" / "scene.mp4", shot_s=2.0)
    video = compose_video([[ali, monica], [tommy]], base / "scene-5" / "scene.mp4", shot_s=3.0)
    make_sprite(video, 6.0, video.parent)
    return base


@pytest.fixture(scope="session")
def stash_url(scenes: Path) -> Iterator[str]:
    with serve_in_subprocess("stash", ["--scenes", str(scenes)]) as url:
        yield url


@pytest.fixture(scope="session")
def sidecar(
    test_db: dict[str, Any], stash_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Sidecar]:
    """The sidecar under test: one worker, one waiting job, 4 MB upload limit."""
    data = tmp_path_factory.mktemp("sidecar-data")
    running = start_sidecar(
        Path(test_db["db"]), stash_url, data, "--workers", "1", "--queue", "1",
        "--max-upload-mb", "4",
    )  # fmt: skip
    try:
        yield running
    finally:
        running.stop()
