"""Many frames of a video from one ffmpeg process, instead of one process a frame.

The wanted times are grouped into runs: times close enough (RUN_GAP_FRAMES frames apart at most)
are one run, decoded straight through; a run starts with an accurate seek of its own input
(`-ss S -t D -i URL`, the same fast-then-exact seek as one process a frame). Each input's frames
are split into one branch per wanted time, `trim`med to the first frame at or after that time,
scaled to a fixed size and concatenated in time order into raw BGR frames on a pipe. One process
decodes up to `inputs_per_process` runs; a process start costs more CPU than decoding a short
frame (80 ms of 130 ms on a 720p frame), and a short scene is one run decoded once.

Nothing is opened another way than before: every input carries the same options (scenes/ffmpeg.py:
`-max_alloc`, threads, the protocol whitelist, the forced container) and a remote source is the
relay's public URL, reached through the relay as proxy. When a process delivers fewer frames than
asked (a run past the end, a broken stream), its runs are decoded again one process a run, and a
run that falls short alone is halved until the frames that cannot be had are found, so that each
frame still goes with its time; frames that cannot be had are None.

Keyframes (`keyframes=True`, for evenly spaced samples, which need not be exact): a wanted time
at least KEYFRAME_GAP_S from its neighbours is read as the keyframe at or before it
(`-skip_frame nokey -noaccurate_seek`): one frame decoded instead of every frame from that
keyframe on. The frame may then be up to one keyframe interval earlier than asked (its time is
still reported as asked). Times closer together are read exactly (the "auto" mode's times where
the sprite showed a face are, too). bench/scene_extract.py measures the ways.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from stash_sense.scenes.ffmpeg import FFMPEG_TIMEOUT_S, input_args, run, tool
from stash_sense.scenes.frames import Image
from stash_sense.scenes.relay import DecoderInput

#: Two wanted times at most this many frames apart are decoded straight through (no new seek).
RUN_GAP_FRAMES = 48
#: Frame rate assumed when the stream does not say.
DEFAULT_FPS = 30.0
#: Most inputs (runs) one ffmpeg process opens.
MAX_INPUTS = 8
#: Seconds of decoding a run's input may read past its last wanted time.
RUN_MARGIN_S = 1.0
#: Each input adds this much to a process's time limit.
TIMEOUT_PER_INPUT_S = 15.0
#: A time this far from the others may be read as the keyframe at or before it (`keyframes`).
KEYFRAME_GAP_S = 10.0

Run = list[float]


def _to_bgr(size: tuple[int, int]) -> str:
    """The filters that turn a decoded frame into one raw BGR frame of `size`."""
    return f"scale={size[0]}:{size[1]},setsar=1,format=bgr24"


def plan_runs(times: Sequence[float], fps: float) -> list[Run]:
    """The sorted times grouped into runs decoded without a seek in between."""
    gap = RUN_GAP_FRAMES / (fps if fps > 0 else DEFAULT_FPS)
    runs: list[Run] = []
    for t in sorted(times):
        if runs and t - runs[-1][-1] <= gap:
            runs[-1].append(t)
        else:
            runs.append([t])
    return runs


def keyframe_times(runs: Sequence[Run]) -> frozenset[float]:
    """The times of single-time runs at least KEYFRAME_GAP_S from every other wanted time."""
    starts = [r[0] for r in runs]
    ends = [r[-1] for r in runs]
    alone: set[float] = set()
    for k, times in enumerate(runs):
        before = starts[k] - ends[k - 1] if k > 0 else float("inf")
        after = starts[k + 1] - ends[k] if k + 1 < len(runs) else float("inf")
        if len(times) == 1 and min(before, after) >= KEYFRAME_GAP_S:
            alone.add(times[0])
    return frozenset(alone)


def command(
    source: DecoderInput,
    runs: Sequence[Run],
    size: tuple[int, int],
    keyframes: frozenset[float] = frozenset(),
) -> list[str]:
    """The ffmpeg command that writes one raw BGR frame of `size` per wanted time, in order;
    a run whose one time is in `keyframes` is read as the keyframe at or before that time."""
    cmd = [tool("ffmpeg"), "-nostdin", "-v", "error"]
    graph: list[str] = []
    outputs: list[str] = []
    for k, times in enumerate(runs):
        start = times[0]
        span = times[-1] - start + RUN_MARGIN_S
        cmd += input_args(source)
        if len(times) == 1 and start in keyframes:
            cmd += ["-skip_frame", "nokey", "-noaccurate_seek", "-ss", f"{start:.3f}"]
            cmd += ["-t", f"{span:.3f}", "-i", source.target]
            graph.append(f"[{k}:v:0]trim=end_frame=1,{_to_bgr(size)}[r{k}o0]")
            outputs.append(f"[r{k}o0]")
            continue
        cmd += ["-ss", f"{start:.3f}", "-t", f"{span:.3f}", "-i", source.target]
        branches = [f"[r{k}b{i}]" for i in range(len(times))]
        graph.append(f"[{k}:v:0]split={len(times)}{''.join(branches)}")
        for i, (branch, at) in enumerate(zip(branches, times, strict=True)):
            label = f"[r{k}o{i}]"
            graph.append(
                f"{branch}trim=start={at - start:.3f},trim=end_frame=1,{_to_bgr(size)}{label}"
            )
            outputs.append(label)
    graph.append(f"{''.join(outputs)}concat=n={len(outputs)}:v=1:a=0[out]")
    cmd += ["-filter_complex", ";".join(graph), "-map", "[out]", "-fps_mode", "passthrough"]
    return [*cmd, "-f", "rawvideo", "-pix_fmt", "bgr24", "pipe:1"]


def _decode(
    source: DecoderInput, runs: Sequence[Run], size: tuple[int, int], keyframes: frozenset[float]
) -> list[Image] | None:
    """The frames of these runs from one process, or None unless it delivered every one."""
    wanted = sum(len(r) for r in runs)
    timeout = FFMPEG_TIMEOUT_S + TIMEOUT_PER_INPUT_S * (len(runs) - 1)
    try:
        out = run(command(source, runs, size, keyframes), source, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    width, height = size
    each = width * height * 3
    if len(out.stdout) != wanted * each:
        return None
    pixels = np.frombuffer(out.stdout, np.uint8).reshape(wanted, height, width, 3)
    return [pixels[i].copy() for i in range(wanted)]


def _group(
    source: DecoderInput, runs: Sequence[Run], size: tuple[int, int], keyframes: frozenset[float]
) -> list[Image | None]:
    """One process for the runs; when it falls short, one process a run (a keyframe read that
    falls short is tried once more as an exact one)."""
    found = _decode(source, runs, size, keyframes)
    if found is not None:
        return list(found)
    if len(runs) == 1 and len(runs[0]) == 1:
        if runs[0][0] in keyframes:
            return _group(source, runs, size, frozenset())
        return [None]
    if len(runs) == 1:  # one run that fell short: each half again (not one process a time)
        half = len(runs[0]) // 2
        halves = [runs[0][:half], runs[0][half:]]
        return [img for h in halves for img in _group(source, [h], size, keyframes)]
    return [img for r in runs for img in _group(source, [r], size, keyframes)]


def grab_batch(
    source: DecoderInput,
    times: Sequence[float],
    *,
    fps: float,
    size: tuple[int, int],
    processes: int,
    inputs_per_process: int = MAX_INPUTS,
    should_stop: Callable[[], bool] | None = None,
    keyframes: bool = False,
) -> list[Image | None]:
    """The frames at `times` (in the order given; None where one could not be had), decoded by
    at most `processes` ffmpeg processes at once, each opening at most `inputs_per_process`;
    with `keyframes`, times far from the others are read as the keyframe at or before them."""
    runs = plan_runs(times, fps)
    snap = keyframe_times(runs) if keyframes else frozenset()
    per = max(1, inputs_per_process)
    groups = [runs[i : i + per] for i in range(0, len(runs), per)]
    if len(groups) < processes and len(runs) > 1:  # spread the runs over the processes allowed
        per = -(-len(runs) // processes)
        groups = [runs[i : i + per] for i in range(0, len(runs), per)]
    by_time: dict[float, Image | None] = {}
    with ThreadPoolExecutor(max_workers=max(1, processes)) as pool:
        futures = [pool.submit(_group, source, g, size, snap) for g in groups]
        for group, fut in zip(groups, futures, strict=True):
            if should_stop is not None and should_stop():
                for other in futures:
                    other.cancel()
                break
            flat = [t for r in group for t in r]
            by_time.update(zip(flat, fut.result(), strict=True))
    return [by_time.get(t) for t in times]
