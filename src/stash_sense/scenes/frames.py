"""Frames of a scene: the thumbnails of a Stash sprite sheet, cut out along its VTT cues."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from stash_sense.scenes.vtt import SpriteCue, VttError, parse_sprite_vtt

Image = npt.NDArray[np.uint8]


class FrameError(ValueError):
    """No frames can be had from this scene input (bad sprite, bad VTT, unreadable video)."""


@dataclass
class Frame:
    """One sampled picture of the scene: its index in the sample, time in seconds and BGR pixels."""

    index: int
    time_s: float
    image: Image
    #: where the frame lies in its sprite sheet (x, y, w, h), for sprite frames
    region: tuple[int, int, int, int] | None = None


def sprite_frames(sprite: Image, vtt_text: str) -> list[Frame]:
    """Cut a decoded sprite sheet into its thumbnails, one frame per VTT cue (time = cue middle)."""
    try:
        cues = parse_sprite_vtt(vtt_text)
    except VttError as exc:
        raise FrameError(str(exc)) from exc
    height, width = sprite.shape[:2]
    covered = sum(cue.w * cue.h for cue in cues)
    if covered > 2 * width * height:
        raise FrameError(
            f"the VTT's {len(cues)} regions cover the {width}x{height} sprite sheet more than twice"
        )
    frames: list[Frame] = []
    for cue in cues:
        if cue.x + cue.w > width or cue.y + cue.h > height:
            raise FrameError(
                f"VTT region {cue.x},{cue.y},{cue.w},{cue.h} lies outside the "
                f"{width}x{height} sprite sheet"
            )
        thumb = np.ascontiguousarray(sprite[cue.y : cue.y + cue.h, cue.x : cue.x + cue.w])
        frames.append(Frame(len(frames), round(cue.middle, 3), thumb, (cue.x, cue.y, cue.w, cue.h)))
    return frames


def upscale_small(image: Image, min_side: int) -> tuple[Image, float]:
    """Enlarge an image whose shorter side is below `min_side`; return it and the scale used."""
    short = min(image.shape[:2])
    if short >= min_side or short == 0:
        return image, 1.0
    scale = min_side / short
    big = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    return np.ascontiguousarray(big, dtype=np.uint8), scale


__all__ = ["Frame", "FrameError", "Image", "SpriteCue", "sprite_frames", "upscale_small"]
