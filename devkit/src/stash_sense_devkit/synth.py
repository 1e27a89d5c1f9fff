"""Synthetic scenes for tests and benchmarks: a video of shots made from face pictures (ffmpeg),
and a Stash-style sprite sheet with its WebVTT, as Stash's "Generate > Sprites" makes them."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from stash_sense.scenes.frames import FrameError
from stash_sense.scenes.video import _tool

BACKGROUND = (96, 72, 64)  # BGR


def shot_image(faces: Sequence[Path], size: tuple[int, int], face_height: int) -> np.ndarray:
    """One frame: the pictures side by side, centred, each scaled to `face_height` pixels."""
    width, height = size
    canvas = np.zeros((height, width, 3), np.uint8)
    canvas[:] = BACKGROUND
    pictures = []
    for path in faces:
        img = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if img is None:
            raise FrameError(f"cannot read picture {path}")
        scale = face_height / img.shape[0]
        pictures.append(cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA))
    total = sum(p.shape[1] for p in pictures) + 20 * max(0, len(pictures) - 1)
    if total > width or face_height > height:
        raise FrameError(
            f"{len(pictures)} pictures of {face_height} px do not fit {width}x{height}"
        )
    x = (width - total) // 2
    y = (height - face_height) // 2
    for p in pictures:
        canvas[y : y + p.shape[0], x : x + p.shape[1]] = p
        x += p.shape[1] + 20
    return canvas


def compose_video(
    shots: Sequence[Sequence[Path]],
    out: Path,
    *,
    size: tuple[int, int] = (1280, 720),
    shot_s: float = 2.0,
    fps: int = 10,
    face_height: int | None = None,
    gop_s: float = 4.0,
) -> Path:
    """An H.264 video with one shot per entry (an empty entry is a shot with nobody).

    Written under a temporary name and renamed, so an interrupted run leaves no partial video.
    """
    height = face_height or size[1] // 2
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.stem}.part{out.suffix}")
    with tempfile.TemporaryDirectory(prefix="stash-sense-synth-") as tmp:
        lines = []
        cache: dict[tuple[str, ...], Path] = {}
        for i, faces in enumerate(shots):
            key = tuple(str(f) for f in faces)
            if key not in cache:
                path = Path(tmp) / f"shot-{i:05d}.png"
                cv2.imwrite(str(path), shot_image(faces, size, height))
                cache[key] = path
            lines += [f"file '{cache[key]}'", f"duration {shot_s}"]
        lines.append(f"file '{cache[tuple(str(f) for f in shots[-1])]}'")
        listing = Path(tmp) / "shots.txt"
        listing.write_text("\n".join(lines) + "\n")
        cmd = [_tool("ffmpeg"), "-nostdin", "-v", "error", "-y", "-f", "concat", "-safe", "0",
               "-i", str(listing), "-vf", f"fps={fps},format=yuv420p", "-c:v", "libx264",
               "-preset", "ultrafast", "-tune", "stillimage", "-g", str(max(1, int(gop_s * fps))),
               "-t", f"{len(shots) * shot_s:.3f}", str(partial)]  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, check=False)
    if done.returncode != 0:
        partial.unlink(missing_ok=True)
        raise FrameError(f"ffmpeg could not compose {out}: {done.stderr.strip()[-300:]}")
    partial.replace(out)
    return out


def _vtt_time(seconds: float) -> str:
    millis = round(seconds * 1000)
    h, rest = divmod(millis, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def make_sprite(
    video: Path, duration: float, out_dir: Path, *, grid: int = 9, width: int = 160
) -> tuple[Path, Path]:
    """`<stem>_sprite.jpg` (grid x grid thumbnails `width` px wide) and `<stem>_thumbs.vtt`."""
    count = grid * grid
    step = duration / count
    sprite = out_dir / f"{video.stem}_sprite.jpg"
    cmd = [_tool("ffmpeg"), "-nostdin", "-v", "error", "-y", "-i", str(video), "-vf",
           f"fps=1/{step:.6f},scale={width}:-2,tile={grid}x{grid}", "-frames:v", "1",
           "-q:v", "4", str(sprite)]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise FrameError(f"ffmpeg could not make a sprite of {video}: {done.stderr.strip()}")
    img = cv2.imread(str(sprite))
    if img is None:
        raise FrameError(f"ffmpeg wrote no sprite for {video}")
    tw, th = img.shape[1] // grid, img.shape[0] // grid
    lines = ["WEBVTT", ""]
    for i in range(count):
        x, y = (i % grid) * tw, (i // grid) * th
        lines += [f"{_vtt_time(i * step)} --> {_vtt_time((i + 1) * step)}",
                  f"{sprite.name}#xywh={x},{y},{tw},{th}", ""]  # fmt: skip
    vtt = out_dir / f"{video.stem}_thumbs.vtt"
    vtt.write_text("\n".join(lines))
    return sprite, vtt
