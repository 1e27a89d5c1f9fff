"""Ways to take 40 frames of bench_scene's 20-minute 1080p video, measured (issue 24).

Each way reads the video as the sidecar does (through the Stash stand-in and the relay, or as a
local file for the CLI's `identify video`): exact frames (ffmpeg seeks to the keyframe before
each time and decodes up to it) against keyframes (`-skip_frame nokey`: the keyframe at or
before each time, one frame decoded), with 1, 2 or 4 ffmpeg processes at once, and OpenCV in
this process for the local file. CPU is split between this process (the relay's copying, or
OpenCV) and the ffmpeg children. The video has a keyframe every 4 s at 5 fps; real files have
more frames between keyframes, which keyframe reading skips and exact reading decodes.

    python -m bench.scene_extract

Writes bench/results/scene-extract.json.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from bench.sidecar_world import API_KEY, ROOT, pin_cores, scenes_dir, stand_in

RESULTS = ROOT / "bench" / "results" / "scene-extract.json"
FRAMES = 40


def _cpu() -> tuple[float, float]:
    t = os.times()
    return t.user + t.system, t.children_user + t.children_system


def main() -> int:
    from stash_sense.scenes.video import frames_at, sample_times
    from stash_sense.sources.stash import StashClient

    pin_cores(2)
    folder, _ = scenes_dir(False, 20.0)
    local = str(folder / "scene-100" / "scene.mp4")
    rows: list[dict[str, Any]] = []
    load = [round(x, 2) for x in os.getloadavg()]
    with stand_in(folder) as url:
        stash = StashClient(url, API_KEY)
        scene = stash.find_scene("100")
        assert scene is not None and scene.stream
        stream = stash.resolve(scene.stream)
        times = sample_times(1200.0, FRAMES)
        ways: list[tuple[str, str, dict[str, Any]]] = []
        for workers in (1, 2, 4):
            for keyframes in (False, True):
                kind = "keyframes" if keyframes else "exact"
                options: dict[str, Any] = {"headers": stash.auth_headers, "keyframes": keyframes}
                ways.append((f"stream, {kind}, {workers} ffmpeg at once", stream,
                             {**options, "workers": workers, "method": "batch"}))  # fmt: skip
        ways.append(("local file, OpenCV in process, exact", local, {"method": "opencv"}))
        ways.append(("local file, keyframes, 4 ffmpeg at once", local, {"keyframes": True}))
        for label, source, options in ways:
            wall0, (self0, child0) = time.perf_counter(), _cpu()
            frames = frames_at(source, times, **options)
            wall, (self1, child1) = time.perf_counter() - wall0, _cpu()
            row = {"way": label, "frames": len(frames), "wall_s": round(wall, 2),
                   "cpu_s_this_process": round(self1 - self0, 2),
                   "cpu_s_ffmpeg": round(child1 - child0, 2),
                   "load_average_1m": round(os.getloadavg()[0], 2)}  # fmt: skip
            rows.append(row)
            print(json.dumps(row), flush=True)
    out = {"video": "20 min 1920x1080, 5 fps, H.264, keyframe every 4 s, moov at the end",
           "frames": FRAMES, "cores": 2, "load_average_start": load, "ways": rows}  # fmt: skip
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
