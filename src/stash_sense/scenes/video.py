"""Frames of a scene from its video with ffmpeg: N evenly spaced frames, fast-seeking (-ss first).

Two ways are offered and measured in bench/bench_scene.py: `seek` runs one short ffmpeg per frame
(several at once), `select` runs a single ffmpeg with one fast-seeking input per frame.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

import cv2
import numpy as np

from stash_sense.scenes.frames import Frame, FrameError, Image

MAX_WIDTH = (
    1280  # frames are scaled down to this width: faces stay large enough, decoding stays fast
)
FFMPEG_TIMEOUT_S = 60.0


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise FrameError(f"{name} is not installed (Debian package ffmpeg; `make system-deps`)")
    return path


def _input_args(source: str, headers: dict[str, str] | None) -> list[str]:
    args: list[str] = ["-protocol_whitelist", "file,http,https,tcp,tls,crypto"]
    if headers and source.startswith(("http://", "https://")):
        args += ["-headers", "".join(f"{k}: {v}\r\n" for k, v in headers.items())]
    return args


def probe_duration(source: str, headers: dict[str, str] | None = None) -> float:
    """Duration of a video in seconds, from ffprobe."""
    cmd = [_tool("ffprobe"), "-v", "error", *_input_args(source, headers)]
    cmd += ["-show_entries", "format=duration", "-of", "json", source]
    try:
        out = subprocess.run(cmd, capture_output=True, timeout=FFMPEG_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as exc:
        raise FrameError(f"ffprobe timed out reading {source}") from exc
    if out.returncode != 0:
        msg = out.stderr.decode(errors="replace").strip().splitlines()
        raise FrameError(f"cannot read video {source}: {msg[-1] if msg else 'ffprobe failed'}")
    try:
        duration = float(json.loads(out.stdout)["format"]["duration"])
    except (KeyError, ValueError, TypeError) as exc:
        raise FrameError(f"video {source} has no duration") from exc
    if not duration > 0:
        raise FrameError(f"video {source} has no duration")
    return duration


def sample_times(duration: float, count: int) -> list[float]:
    """`count` times spread evenly over the video, each in the middle of its slice."""
    if count < 1:
        raise FrameError("frames must be at least 1")
    return [round(duration * (i + 0.5) / count, 3) for i in range(count)]


def _decode_bmp(data: bytes) -> Image | None:
    if not data:
        return None
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return None if img is None else np.ascontiguousarray(img, dtype=np.uint8)


_SCALE = f"scale='min({MAX_WIDTH},iw)':-2"


def _grab_one(source: str, at: float, headers: dict[str, str] | None) -> Image | None:
    cmd = [_tool("ffmpeg"), "-nostdin", "-v", "error", *_input_args(source, headers)]
    cmd += ["-ss", f"{at:.3f}", "-i", source, "-frames:v", "1", "-vf", _SCALE]
    cmd += ["-c:v", "bmp", "-f", "image2pipe", "-"]
    try:
        out = subprocess.run(cmd, capture_output=True, timeout=FFMPEG_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        return None
    return _decode_bmp(out.stdout) if out.returncode == 0 else None


def _split_bmps(data: bytes) -> list[bytes]:
    """Split concatenated BMP files (each starts with 'BM' and its total size)."""
    parts: list[bytes] = []
    pos = 0
    while pos + 6 <= len(data) and data[pos : pos + 2] == b"BM":
        size = int.from_bytes(data[pos + 2 : pos + 6], "little")
        if size <= 0:
            break
        parts.append(data[pos : pos + size])
        pos += size
    return parts


def _grab_select(
    source: str, times: Sequence[float], headers: dict[str, str] | None
) -> list[Image | None]:
    cmd = [_tool("ffmpeg"), "-nostdin", "-v", "error"]
    for at in times:
        cmd += [*_input_args(source, headers), "-ss", f"{at:.3f}", "-i", source]
    filters = ";".join(f"[{k}:v:0]trim=end_frame=1,{_SCALE}[o{k}]" for k in range(len(times)))
    concat = "".join(f"[o{k}]" for k in range(len(times)))
    cmd += ["-filter_complex", f"{filters};{concat}concat=n={len(times)}:v=1:a=0[out]"]
    cmd += ["-map", "[out]", "-c:v", "bmp", "-f", "image2pipe", "-"]
    try:
        out = subprocess.run(cmd, capture_output=True, timeout=FFMPEG_TIMEOUT_S * 4, check=False)
    except subprocess.TimeoutExpired:
        return [None] * len(times)
    images = [_decode_bmp(part) for part in _split_bmps(out.stdout)]
    images += [None] * (len(times) - len(images))
    return images[: len(times)]


def video_frames(
    source: str,
    count: int,
    *,
    headers: dict[str, str] | None = None,
    duration: float | None = None,
    method: Literal["seek", "select"] = "seek",
    workers: int | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> list[Frame]:
    """Sample `count` evenly spaced frames of a video file or URL; frames that fail are left out."""
    if duration is None or not duration > 0:
        duration = probe_duration(source, headers)
    times = sample_times(duration, count)
    return frames_at(
        source, times, headers=headers, method=method, workers=workers, should_stop=should_stop
    )


def frames_at(
    source: str,
    times: Sequence[float],
    *,
    headers: dict[str, str] | None = None,
    method: Literal["seek", "select"] = "seek",
    workers: int | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> list[Frame]:
    """The frames of a video at these times (seconds); frames that fail are left out."""
    if not times:
        raise FrameError("no times to sample")
    if method == "select":
        images = _grab_select(source, times, headers)
    else:
        images = []
        pool_size = workers or max(2, (os.cpu_count() or 2) * 2)
        with ThreadPoolExecutor(max_workers=pool_size) as pool:
            futures = [pool.submit(_grab_one, source, t, headers) for t in times]
            for fut in futures:
                if should_stop is not None and should_stop():
                    for other in futures:
                        other.cancel()
                    break
                images.append(fut.result())
    frames = [
        Frame(i, t, img)
        for i, (t, img) in enumerate(zip(times, images, strict=False))
        if img is not None
    ]
    if not frames:
        raise FrameError(f"ffmpeg could not read any frame of {source}")
    return frames
