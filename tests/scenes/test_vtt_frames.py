"""Sprite VTT parsing and cutting a sprite sheet into frames, on eval and broken inputs."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from stash_sense.scenes.frames import FrameError, sprite_frames, upscale_small
from stash_sense.scenes.vtt import VttError, parse_sprite_vtt


def test_eval_sprite_has_81_thumbnails_in_time_order(data_dir: Path) -> None:
    folder = data_dir / "scenes" / "scene-1"
    sprite = cv2.imread(str(folder / "scene_sprite.jpg"))
    frames = sprite_frames(sprite, (folder / "scene_thumbs.vtt").read_text())
    assert len(frames) == 81
    assert all(f.image.shape == (90, 160, 3) for f in frames)
    times = [f.time_s for f in frames]
    assert times == sorted(times) and 0 < times[0] < 0.2 and 13.8 < times[-1] < 14.0
    assert [f.index for f in frames] == list(range(81))


def test_hours_commas_and_a_bom() -> None:
    cues = parse_sprite_vtt(
        "\ufeffWEBVTT\n\n1\n01:00:02,500 --> 01:00:05.000\nsprite.jpg#xywh=160,90,160,90\n"
    )
    assert len(cues) == 1
    assert (cues[0].start, cues[0].end) == pytest.approx((3602.5, 3605.0))
    assert (cues[0].x, cues[0].y, cues[0].w, cues[0].h) == (160, 90, 160, 90)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "WEBVTT"),
        ("not a vtt", "WEBVTT"),
        ("WEBVTT\n\n", "no cues"),
        ("WEBVTT\n\n00:00.000 --> 00:01.000\nsprite.jpg\n", "#xywh"),
        ("WEBVTT\n\n00:02.000 --> 00:01.000\nsprite.jpg#xywh=0,0,10,10\n", "backwards"),
        ("WEBVTT\n\n00:00.000 --> 00:01.000\nsprite.jpg#xywh=0,0,0,10\n", "empty"),
    ],
)
def test_broken_vtt_is_refused_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(VttError, match=message):
        parse_sprite_vtt(text)


def test_region_outside_the_sheet_and_bad_vtt_are_frame_errors() -> None:
    sheet = np.zeros((90, 160, 3), np.uint8)
    with pytest.raises(FrameError, match="outside"):
        sprite_frames(sheet, "WEBVTT\n\n00:00.000 --> 00:01.000\ns.jpg#xywh=100,0,160,90\n")
    with pytest.raises(FrameError, match="WEBVTT"):
        sprite_frames(sheet, "garbage")


def test_small_frames_are_enlarged_for_detection() -> None:
    small = np.zeros((90, 160, 3), np.uint8)
    big, scale = upscale_small(small, 360)
    assert big.shape[:2] == (360, 640) and scale == 4.0
    same, one = upscale_small(np.zeros((400, 600, 3), np.uint8), 360)
    assert same.shape[:2] == (400, 600) and one == 1.0
