"""Frames of a scene from its video with ffmpeg: N evenly spaced frames, fast-seeking (-ss first).

Ways offered: `opencv` decodes in-process with OpenCV's FFmpeg backend (one open, a seek per frame:
no process start per frame, about 2.5 times less CPU on a 1080p video); `batch` has one ffmpeg
process decode many frames (scenes/batch.py: nearby times decoded straight through, far ones
each with its own seek, all in one process); `seek` runs one short ffmpeg per frame (several at
once). `auto` (the default) uses `opencv`, and `batch` when OpenCV cannot or may not read the
source. Only local files of moderate size (OPENCV_MAX_PIXELS) are decoded in-process; remote
streams and large frames always go to ffmpeg processes.

A remote stream is always read through a loopback relay (scenes/relay.py), which is the decoder
processes' HTTP proxy: they never see a Stash API key or the relay's token (neither is on a
command line), never follow a redirect, and every URL they might be led to ends at the relay.
Every decoder is told the container the source's first bytes show (`-f`), so no playlist or
manifest demuxer is ever chosen, and ffmpeg may only use `http,tcp` for URLs, only `file` for
local files.

Memory: ffprobe reads the frame size first and frames over MAX_VIDEO_PIXELS are refused before
any is decoded (a 2 MB mkv of three 16000 x 16000 PNG frames once took the sidecar from 230 MB to
4.6 GB); every ffmpeg and ffprobe runs with `-max_alloc`, so no single buffer of theirs can be
larger than a frame within the budget needs, and with at most DECODER_THREADS threads; fewer
of them run at once for large frames (DECODE_MEMORY).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from stash_sense.net.redact import redact_url
from stash_sense.scenes.batch import grab_batch, keyframe_times, plan_runs
from stash_sense.scenes.ffmpeg import (
    DECODER_THREADS,
    MAX_VIDEO_PIXELS,
    MAX_WIDTH,
    input_args,
    scaled_size,
)
from stash_sense.scenes.ffmpeg import run as _run
from stash_sense.scenes.ffmpeg import tool as _tool
from stash_sense.scenes.frames import Frame, FrameError, Image
from stash_sense.scenes.relay import DecoderInput, decoder_source

Method = Literal["auto", "opencv", "batch", "seek"]
#: Largest frame decoded in this process (OpenCV); larger ones go to an ffmpeg process. 4K DCI.
OPENCV_MAX_PIXELS = 4096 * 2160
#: Memory the ffmpeg processes of one request may use together: each takes about 8 bytes a
#: frame pixel and 16 MB (measured: 272 MB peak for one 8192 x 4320 frame), so an 8K video is
#: read by 3 processes at once, a 1080p one by as many as the pool has.
DECODE_MEMORY = 1024 * 1024 * 1024


@dataclass(frozen=True)
class VideoInfo:
    """What ffprobe says of a video: its duration (0 when unknown), frame size and frame rate
    (0 when unknown)."""

    duration: float
    width: int
    height: int
    fps: float = 0.0


def probe(source: DecoderInput, shown: str) -> VideoInfo:
    """Duration and frame size of the first video stream; FrameError when there is none, or
    when its frames have more pixels than MAX_VIDEO_PIXELS."""
    cmd = [_tool("ffprobe"), "-v", "error", *input_args(source), "-select_streams", "v:0"]
    entries = "stream=width,height,avg_frame_rate:format=duration"
    cmd += ["-show_entries", entries, "-of", "json", source.target]
    try:
        out = _run(cmd, source)
    except subprocess.TimeoutExpired as exc:
        raise FrameError(f"ffprobe timed out reading {shown}") from exc
    if out.returncode != 0:
        msg = out.stderr.decode(errors="replace").strip().splitlines()
        why = msg[-1].replace(source.target, "the stream") if msg else "ffprobe failed"
        raise FrameError(why)
    try:
        found = json.loads(out.stdout)
        stream = (found.get("streams") or [{}])[0]
        width, height = int(stream.get("width", 0)), int(stream.get("height", 0))
        duration = float(found.get("format", {}).get("duration", 0) or 0)
        fps = _rate(str(stream.get("avg_frame_rate", "0/0")))
    except (ValueError, TypeError, AttributeError) as exc:
        raise FrameError("ffprobe gave no usable answer") from exc
    if width <= 0 or height <= 0:
        raise FrameError("it has no video stream")
    if width * height > MAX_VIDEO_PIXELS:
        raise FrameError(
            f"its frames are {width}x{height}: too many pixels (limit {MAX_VIDEO_PIXELS})"
        )
    return VideoInfo(duration if duration > 0 else 0.0, width, height, fps)


def _rate(text: str) -> float:
    """ffprobe's "30000/1001" as frames a second (0 when unknown or absurd)."""
    num, _, den = text.partition("/")
    try:
        rate = float(num) / float(den or 1)
    except (ValueError, ZeroDivisionError):
        return 0.0
    return rate if 0 < rate <= 1000 else 0.0


def probe_duration(source: str, headers: dict[str, str] | None = None) -> float:
    """Duration of a video in seconds, from ffprobe."""
    shown = redact_url(source)
    try:
        with decoder_source(source, headers) as readable:
            info = probe(readable, shown)
    except FrameError as exc:
        raise FrameError(f"cannot read video {shown}: {exc}") from None
    if not info.duration > 0:
        raise FrameError(f"video {shown} has no duration")
    return info.duration


def sample_times(duration: float, count: int) -> list[float]:
    """`count` times spread evenly over the video, each in the middle of its slice."""
    if count < 1:
        raise FrameError("frames must be at least 1")
    return [round(duration * (i + 0.5) / count, 3) for i in range(count)]


def within(times: Sequence[float], info: VideoInfo) -> list[float]:
    """The times to decode: a time within the last frame's span (a sprite's last cue's middle
    in a short video) is moved to just before that frame, after which no frame starts (its
    process fell short and everything was decoded again: 6.4 CPU s for one 9-second scene);
    times past the end, or with the frame rate or duration unknown, stay as given."""
    if not (info.duration > 0 and info.fps > 0):
        return list(times)
    last = max(0.0, info.duration - 1.5 / info.fps)
    return [last if last < t <= info.duration else t for t in times]


def _decode_bmp(data: bytes) -> Image | None:
    if not data:
        return None
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return None if img is None else np.ascontiguousarray(img, dtype=np.uint8)


_SCALE = f"scale='min({MAX_WIDTH},iw)':-2"


def _grab_one(source: DecoderInput, at: float) -> Image | None:
    cmd = [_tool("ffmpeg"), "-nostdin", "-v", "error", *input_args(source)]
    cmd += ["-ss", f"{at:.3f}", "-i", source.target, "-frames:v", "1", "-vf", _SCALE]
    cmd += ["-c:v", "bmp", "-f", "image2pipe", "-"]
    try:
        out = _run(cmd, source)
    except subprocess.TimeoutExpired:
        return None
    return _decode_bmp(out.stdout) if out.returncode == 0 else None


def _scaled(img: Image) -> Image:
    """The same scaling as the ffmpeg path: at most MAX_WIDTH wide, even height."""
    height, width = img.shape[:2]
    if width <= MAX_WIDTH:
        return np.ascontiguousarray(img, dtype=np.uint8)
    small = cv2.resize(img, scaled_size(width, height), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(small, dtype=np.uint8)


def _grab_opencv(
    source: DecoderInput, times: Sequence[float], should_stop: Callable[[], bool] | None
) -> list[Image | None] | None:
    """Frames decoded in-process; None when OpenCV cannot open the source."""
    if not (source.local and os.path.isfile(source.target)):
        return None
    cap = cv2.VideoCapture(source.target, cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, DECODER_THREADS])
    try:
        if not cap.isOpened():
            return None
        images: list[Image | None] = []
        for at in times:
            if should_stop is not None and should_stop():
                break
            cap.set(cv2.CAP_PROP_POS_MSEC, at * 1000.0)
            ok, img = cap.read()
            images.append(
                _scaled(np.asarray(img, dtype=np.uint8)) if ok and img is not None else None
            )
        return images
    finally:
        cap.release()


def video_frames(
    source: str,
    count: int,
    *,
    headers: dict[str, str] | None = None,
    duration: float | None = None,
    method: Method = "auto",
    workers: int | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> list[Frame]:
    """Sample `count` evenly spaced frames of a video file or URL; frames that fail are left out."""
    if duration is None or not duration > 0:
        duration = probe_duration(source, headers)
    times = sample_times(duration, count)
    return frames_at(source, times, headers=headers, method=method, workers=workers,
                     should_stop=should_stop, keyframes=True)  # fmt: skip


def decoder_processes(info: VideoInfo, workers: int | None) -> int:
    """How many ffmpeg processes may decode frames of this video at once: `workers` (default
    twice the cores), fewer when their frames would take more than DECODE_MEMORY together."""
    wanted = workers or max(2, (os.cpu_count() or 2) * 2)
    each = info.width * info.height * 8 + 16 * 1024 * 1024
    return max(1, min(wanted, DECODE_MEMORY // each))


def _grab_seek(
    source: DecoderInput,
    times: Sequence[float],
    pool_size: int,
    should_stop: Callable[[], bool] | None,
) -> list[Image | None]:
    """One short ffmpeg per frame, several at once."""
    images: list[Image | None] = []
    with ThreadPoolExecutor(max_workers=pool_size) as pool:
        futures = [pool.submit(_grab_one, source, t) for t in times]
        for fut in futures:
            if should_stop is not None and should_stop():
                for other in futures:
                    other.cancel()
                break
            images.append(fut.result())
    return images


def frames_at(
    source: str,
    times: Sequence[float],
    *,
    headers: dict[str, str] | None = None,
    method: Method = "auto",
    workers: int | None = None,
    should_stop: Callable[[], bool] | None = None,
    keyframes: bool = False,
) -> list[Frame]:
    """The frames of a video at these times (seconds); frames that fail are left out. With
    `keyframes` (samples that need not be exact), a time far from the others is read as the
    keyframe at or before it, by ffmpeg (scenes/batch.py)."""
    if not times:
        raise FrameError("no times to sample")
    shown = redact_url(source)
    images: list[Image | None] | None = None
    try:
        with decoder_source(source, headers) as readable:
            info = probe(readable, shown)
            wanted = within(times, info)
            small = info.width * info.height <= OPENCV_MAX_PIXELS
            snap = keyframes and bool(keyframe_times(plan_runs(wanted, info.fps)))
            if (method == "opencv" or (method == "auto" and not snap)) and small:
                images = _grab_opencv(readable, wanted, should_stop)
                if images is not None and not any(img is not None for img in images):
                    images = None  # OpenCV opened it but read nothing: let ffmpeg try
            if images is None:
                pool = decoder_processes(info, workers)
                if method == "seek":
                    images = _grab_seek(readable, wanted, pool, should_stop)
                else:
                    size = scaled_size(info.width, info.height)
                    images = grab_batch(readable, wanted, fps=info.fps, size=size,
                                        processes=pool, should_stop=should_stop,
                                        keyframes=snap)  # fmt: skip
    except FrameError as exc:
        raise FrameError(f"could not read any frame of {shown}: {exc}") from None
    frames = [
        Frame(i, t, img)
        for i, (t, img) in enumerate(zip(times, images, strict=False))
        if img is not None
    ]
    if not frames:
        raise FrameError(f"could not read any frame of {shown}")
    return frames
