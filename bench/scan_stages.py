"""Where a library scan's wall time goes, stage by stage (issue 21), on bench_library's world.

Runs the real `stash-sense scan --scope all` against the world's Stash stand-in (bench/
bench_library.py builds both), every thread under cProfile, until `--scenes` scenes are recorded,
pauses it (SIGINT), and prints each stage's wall seconds a scene in the scan's thread and in the
prefetch thread (library/prefetch.py: the next scene's Stash requests and decode, whose wait is
`Prefetch.take` in the scan's thread). cProfile slows Python code down, not ffmpeg or OpenCV.

    python -m bench.scan_stages --scenes 12
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import os
import pstats
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench.bench_library import STASH_KEY, done_count, world_stand_in
from bench.library_world import LIBRARY, WorldSize, build_world, built_library_db, world_file
from bench.sidecar_world import pin_cores

#: stage -> (file suffix, function name) whose cumulative time is the stage's
STAGES = {
    "stash: find_scene (GraphQL)": ("sources/stash.py", "find_scene"),
    "stash: pacing bucket waits": ("sources/ratelimit.py", "acquire"),
    "sprite: fetch VTT + sheet": ("scenes/stash.py", "sprite_from_stash"),
    "sprite: presence pass (detect)": ("scenes/stash.py", "face_times"),
    "video: probe (ffprobe)": ("scenes/video.py", "probe"),
    "video: frames_at (probe + decode)": ("scenes/video.py", "frames_at"),
    "scene frames, all (stash_scene_frames)": ("scenes/stash.py", "stash_scene_frames"),
    "wait for the scene fetched ahead": ("library/prefetch.py", "take"),
    "detection (detect_scene_faces)": ("scenes/faces.py", "detect_scene_faces"),
    "refine + embed (prepare_for_matching)": ("scenes/faces.py", "prepare_for_matching"),
    "match (Matcher.search)": ("matching/matcher.py", "search"),
    "identify_scene, all": ("scenes/identify.py", "identify_scene"),
    "record_result": ("library/store.py", "record_result"),
    "refresh_summaries": ("library/summary.py", "refresh"),
    "memory ceiling check": ("library/pace.py", "over_ceiling"),
    "one scene, all (LibraryScan._scene)": ("library/scan.py", "_scene"),
    "page of scenes (scene_page)": ("sources/stash.py", "scene_page"),
}


def profiled_cli(out: Path, argv: list[str]) -> None:
    """The CLI with each thread's run under its own cProfile, written to out/<thread>.prof."""
    run = threading.Thread.run

    def profiled(self: threading.Thread) -> None:
        prof = cProfile.Profile()
        prof.enable()
        try:
            run(self)
        finally:
            prof.disable()
            prof.dump_stats(str(out / f"{self.name.replace('/', '_')}.prof"))

    threading.Thread.run = profiled  # type: ignore[method-assign]
    from stash_sense.cli.app import main as cli

    sys.argv = ["stash-sense", *argv]
    with contextlib.suppress(SystemExit):
        cli()


def stage_seconds(profile: Path) -> dict[str, float]:
    stats = pstats.Stats(str(profile))
    out: dict[str, float] = {}
    for (file, _line, name), row in stats.stats.items():  # type: ignore[attr-defined]
        for stage, (suffix, func) in STAGES.items():
            if name == func and file.endswith(suffix):
                out[stage] = out.get(stage, 0.0) + row[3]  # cumulative time
    return out


def rss_mb(pid: int) -> float:
    """The process's resident memory now (VmRSS), in MB; 0 once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    line = next((x for x in status.splitlines() if x.startswith("VmRSS")), "VmRSS: 0 kB")
    return round(int(line.split()[1]) / 1024, 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=12)
    parser.add_argument("--rate", type=float, default=4.0)
    parser.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("cli", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        profiled_cli(args.child, args.cli)
        return 0
    pin_cores(2)
    size = WorldSize(scenes=20_000, clips=165)
    world = build_world(size)
    db = built_library_db(world)
    data = LIBRARY / f"stages-{int(time.time())}"
    data.mkdir(parents=True)
    load = os.getloadavg()
    rss: dict[int, list[float]] = {}  # scenes recorded -> the scan's RSS samples meanwhile
    with world_stand_in(world_file(size)) as url:
        cmd = [sys.executable, "-m", "bench.scan_stages", "--child", str(data), "--",
               "scan", "--scope", "all", "--db", str(db), "--stash-url", url, "--data-dir",
               str(data), "--scan-rate", str(args.rate), "--json"]  # fmt: skip
        env = dict(os.environ, STASH_SENSE_STASH_API_KEY=STASH_KEY)
        started = time.monotonic()
        with (data / "scan.log").open("wb") as log:
            proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
            while (
                proc.poll() is None and (done := done_count(data / "library.sqlite")) < args.scenes
            ):
                rss.setdefault(done, []).append(rss_mb(proc.pid))
                time.sleep(0.5)
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=600)
        wall = time.monotonic() - started
    n = max(1, done_count(data / "library.sqlite"))
    per_scene = {  # the scan's thread and the prefetch's (the others run none of the stages)
        prof.stem: {k: round(v / n, 3) for k, v in sorted(stage_seconds(prof).items())}
        for prof in sorted(data.glob("*.prof"))
        if prof.stem.startswith(("library-scan", "scan-prefetch"))
    }
    result = {
        "scenes": n,
        "wall_s": round(wall, 1),
        "load_average_start": [round(x, 2) for x in load],
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "seconds_a_scene": per_scene,
        # before the first scene is recorded (models loaded while it runs), then after each
        "rss_mb_by_scenes_recorded": {k: {"min": min(v), "max": max(v)} for k, v in rss.items()},
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
