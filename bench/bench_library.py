"""The library scan over a 20,000-scene Stash stand-in, on 2 cores (issue 21).

The real `stash-sense scan --scope all` (a subprocess, its own state database) runs against the
Stash stand-in serving the generated world (bench/library_world.py; the stand-in is
standins/library_world.py, a subprocess over real HTTP, with Stash's API key). Scenes have
distinct `updated_at` in random order and the scan goes oldest edit first, so the first N scenes
it scans are a random sample of the library, while its paging runs over all 20,000 for real.
The scan is killed with SIGKILL after `--kill-at` of the sample, run again (it resumes), and
paused with Ctrl-C (SIGINT) once N scenes are done. Measured:
- scenes an hour: wall (two runs, start-up included, and the steady rate between the first and
  last scene of the second run) and CPU (the scanning process and its ffmpeg children);
- peak RSS of the scanning process (VmHWM) and of it with its children at the busiest poll;
- scene recall (true people among the candidates, as best match, at "high") and absent people
  (strangers, look-alikes) suggested at high or likely;
- Stash requests a second seen by the stand-in vs the configured bound;
- kill -9 and resume: no scene read twice but the one under way, none skipped;
- pre-selection precision for min_frames 1..6, tuned on half A of the identities, reported on
  half B, beside the share of scenes that get a pre-selection;
- library health kinds (bench/library_health.py) when the sidecar has them.

    python -m bench.bench_library                  # 200 scenes sampled
    python -m bench.bench_library --scenes 60      # quicker (bench/results/library-quick.json)
    BENCH_QUICK=1 python -m bench.bench_library    # 30 scenes (library-quick.json)
    python -m bench.bench_library --max-minutes 30 # stop the scan then, however far it got
    python -m bench.bench_library --health-from bench/work/library/state-N  # health kinds only

Timings depend on the machine's other load: the JSON records the load average around the run.
Writes bench/results/library.json (library-quick.json when fewer than 60 scenes were scanned).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench.evaldata import require_eval
from bench.library_figures import accuracy, pace, preselection, resume_check, stored
from bench.library_health import measure_health
from bench.library_world import LIBRARY, WorldSize, build_world, built_library_db, world_file
from bench.sidecar_world import ROOT, pin_cores
from stash_sense_devkit.standins.launch import free_port, wait_ready

STASH_KEY = "library-bench-stash-key"
RESULTS = ROOT / "bench" / "results"


@contextlib.contextmanager
def world_stand_in(path: Path) -> Iterator[str]:
    """The stand-in serving the world, as a subprocess; yields its URL."""
    port = free_port()
    cmd = [sys.executable, "-m", "stash_sense_devkit.standins.library_world", "--world",
           str(path), "--clips", str(LIBRARY / "clips"), "--port", str(port)]  # fmt: skip
    env = dict(os.environ, STAND_IN_STASH_API_KEY=STASH_KEY)
    log = (LIBRARY / "stand-in.log").open("wb")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, timeout_s=120, proc=proc)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


class Watch:
    """Peak memory and CPU time of the scanning process (and its ffmpeg children)."""

    def __init__(self) -> None:
        self.hwm_mb = 0.0
        self.with_children_mb = 0.0
        self.cpu_s = 0.0

    def poll(self, proc: psutil.Process, cpu_before: float) -> None:
        with contextlib.suppress(psutil.Error, OSError, ValueError, StopIteration):  # exited
            status = Path(f"/proc/{proc.pid}/status").read_text()
            hwm = next(line for line in status.splitlines() if line.startswith("VmHWM"))
            self.hwm_mb = max(self.hwm_mb, int(hwm.split()[1]) / 1024)
            rss = proc.memory_info().rss + sum(
                c.memory_info().rss for c in proc.children(recursive=True)
            )
            self.with_children_mb = max(self.with_children_mb, rss / 2**20)
            t = proc.cpu_times()
            self.cpu_s = cpu_before + t.user + t.system + t.children_user + t.children_system


def done_count(state_db: Path) -> int:
    if not state_db.is_file():
        return 0
    with contextlib.suppress(sqlite3.Error):
        con = sqlite3.connect(f"file:{state_db}?mode=ro", uri=True, timeout=5)
        try:
            return int(con.execute("SELECT count(*) FROM scenes").fetchone()[0])
        finally:
            con.close()
    return 0


def scan_until(
    db: Path,
    url: str,
    data: Path,
    stop_at: int,
    how: signal.Signals,
    watch: Watch,
    rate: float,
    deadline: float = float("inf"),
) -> dict[str, Any]:
    """Run `stash-sense scan --scope all` until `stop_at` scenes are recorded (or the monotonic
    `deadline` passes), then send `how`."""
    cmd = [sys.executable, "-m", "stash_sense.cli.app", "scan", "--scope", "all", "--db",
           str(db), "--stash-url", url, "--data-dir", str(data), "--scan-rate", str(rate),
           "--json"]  # fmt: skip
    env = dict(os.environ, STASH_SENSE_STASH_API_KEY=STASH_KEY)
    started, before = time.monotonic(), watch.cpu_s
    out = (data / f"scan-{int(time.time())}.log").open("wb")
    proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    ps = psutil.Process(proc.pid)
    state_db = data / "library.sqlite"
    while proc.poll() is None and done_count(state_db) < stop_at and time.monotonic() < deadline:
        watch.poll(ps, before)
        time.sleep(0.5)
    watch.poll(ps, before)
    if proc.poll() is None:
        proc.send_signal(how)
    code = proc.wait(timeout=600)
    out.close()
    return {"signal": how.name, "exit_status": code, "wall_s": round(time.monotonic() - started, 1),
            "recorded": done_count(state_db)}  # fmt: skip


def steady_rate(scenes: dict[str, dict[str, Any]], since: float) -> float | None:
    stamps = sorted(s["scanned_at"] for s in scenes.values() if s["scanned_at"] >= since)
    if len(stamps) < 3:
        return None
    return round((len(stamps) - 1) / (stamps[-1] - stamps[0]) * 3600, 1)


def rates(
    scenes: dict[str, dict[str, Any]], wall: float, cpu: float, second_started: float
) -> dict[str, Any]:
    """Scenes an hour: wall (both runs, start-up included), steady, and by CPU time on 2 cores."""
    n = max(1, len(scenes))
    return {
        "scenes_per_hour_wall": round(len(scenes) / wall * 3600, 1) if wall else None,
        "scenes_per_hour_steady": steady_rate(scenes, second_started),
        "cpu_s_per_scene": round(cpu / n, 2),
        "scenes_per_hour_cpu_2_cores": round(2 * 3600 / (cpu / n), 1) if cpu else None,
        "target_scenes_per_hour": 1500,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The library scan benchmark (issue 21).")
    parser.add_argument("--scenes", type=int, default=200, help="scenes to scan (the sample)")
    parser.add_argument("--kill-at", type=float, default=0.5, help="kill -9 after this share")
    parser.add_argument("--rate", type=float, default=4.0, help="the scan's Stash requests/s")
    parser.add_argument(
        "--max-minutes", type=float, default=None, help="stop the scan then, even short of --scenes"
    )
    parser.add_argument(
        "--health-from", type=Path, default=None,
        help="only measure the health kinds, on this earlier run's state folder",
    )  # fmt: skip
    parser.add_argument("--library", type=int, default=20_000, help="scenes in the library")
    parser.add_argument("--clips", type=int, default=165, help="distinct clips")
    # run_all passes its own arguments (bench names) along: those are not ours
    args, _ = parser.parse_known_args(argv)
    if os.environ.get("BENCH_QUICK") == "1" and "--scenes" not in sys.argv:
        args.scenes = 30
    require_eval()
    cpus = pin_cores(2)
    t0 = time.monotonic()
    size = WorldSize(scenes=args.library, clips=args.clips)
    world = build_world(size)
    world_path = world_file(size)
    db = built_library_db(world)
    prepared_s = time.monotonic() - t0
    if args.health_from is not None:
        return health_only(world, world_path, db, args.health_from)
    data = LIBRARY / f"state-{int(time.time())}"
    data.mkdir(parents=True)
    load_start = os.getloadavg()
    watch = Watch()
    with world_stand_in(world_path) as url:
        scan_started = time.time()
        kill_at = max(1, int(args.scenes * args.kill_at))
        budget = time.monotonic() + 60 * args.max_minutes if args.max_minutes else float("inf")
        kill_by = time.monotonic() + (budget - time.monotonic()) * args.kill_at
        first = scan_until(db, url, data, kill_at, signal.SIGKILL, watch, args.rate, kill_by)
        second_started = time.time()
        second = scan_until(db, url, data, args.scenes, signal.SIGINT, watch, args.rate, budget)
        requests = httpx.get(url + "/__requests", timeout=60).json()
        scenes = stored(data / "library.sqlite")
        health = measure_health(world, db, url, data, STASH_KEY, scenes)
    n = len([s for s in scenes.values() if s["status"] == "done"])
    setup = {
        "cores": len(cpus),
        "library_scenes": args.library,
        "clips": args.clips,
        "sample_scenes": args.scenes,
        "scenes_scanned": len(scenes),
        "stopped_by": "--scenes"
        if len(scenes) >= args.scenes
        else f"--max-minutes {args.max_minutes:g}",
        "database_performers": len(world["cast_folders"]) + len(world["distractors"]),
        "scope": "all",
        "frames": 40,
        "load_average_start": [round(x, 2) for x in load_start],
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "note": "timings on a 2-core machine shared with other work: see the load averages",
        "python": platform.python_version(),
        "prepare_s": round(prepared_s, 1),
    }
    results: dict[str, Any] = {
        "quick": len(scenes) < 60,
        "setup": setup,
        "runs": [first, second],
        "rate": rates(scenes, first["wall_s"] + second["wall_s"], watch.cpu_s, second_started),
        "memory": {
            "peak_rss_mb": round(watch.hwm_mb, 1),
            "peak_rss_with_ffmpeg_mb": round(watch.with_children_mb, 1),
            "target_mb": 1536,
        },
        "accuracy": accuracy(world, scenes),
        "preselection": preselection(world, scenes),
        "requests": pace(requests, args.rate, 4, scan_started),
        "kill_resume": resume_check(world, scenes, requests),
        "health": health,
        "bench_wall_s": round(time.monotonic() - t0, 1),
    }
    name = "library-quick.json" if results["quick"] else "library.json"
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / name).write_text(json.dumps(results, indent=2) + "\n")
    report(results, n)
    print(f"wrote {RESULTS / name}")
    return 0


def health_only(world: dict[str, Any], path: Path, db: Path, data: Path) -> int:
    """The health kinds on an earlier scan's state (a copy of it: the sidecar may migrate it);
    written to bench/results/library-health.json."""
    copy = data.with_name(data.name + f"-health-{int(time.time())}")
    shutil.copytree(data, copy)
    scenes = stored(copy / "library.sqlite")
    with world_stand_in(path) as url:
        health = measure_health(world, db, url, copy, STASH_KEY, scenes)
    out = RESULTS / "library-health.json"
    out.write_text(json.dumps({"state": str(data), "health": health}, indent=2) + "\n")
    print(json.dumps(health, indent=2))
    print(f"wrote {out}")
    return 0


def report(r: dict[str, Any], n: int) -> None:
    """The figures, a few lines."""
    rate, acc, pre, req, setup = (
        r["rate"],
        r["accuracy"],
        r["preselection"],
        r["requests"],
        r["setup"],
    )
    paced = req["paced"]
    lines = [
        f"{n} scenes scanned of {setup['library_scenes']} (load average "
        f"{setup['load_average_start'][0]} -> {setup['load_average_end'][0]}; shared machine)",
        f"rate: {rate['scenes_per_hour_wall']}/h wall, {rate['scenes_per_hour_steady']}/h steady, "
        f"{rate['cpu_s_per_scene']} CPU s a scene = {rate['scenes_per_hour_cpu_2_cores']}/h "
        f"on 2 cores (target {rate['target_scenes_per_hour']})",
        f"peak RSS {r['memory']['peak_rss_mb']} MB "
        f"(with ffmpeg {r['memory']['peak_rss_with_ffmpeg_mb']} MB)",
        f"recall: candidates {acc['recall_candidates']}, best match {acc['recall_best_match']}, "
        f"high {acc['recall_high']}; absent people suggested high/likely "
        f"{acc['absent_suggested_high_or_likely']} (high {acc['absent_suggested_high']})",
        f"requests: paced {paced['mean_per_s']}/s mean, busiest 1 s {paced['max_in_1s']} "
        f"(bound {req['bound_1s']}), 10 s {paced['max_in_10s']} (bound {req['bound_10s']})",
        f"kill -9 / resume: {r['kill_resume']}",
        f"pre-selection: min_frames {pre['chosen_min_frames']} from half A; "
        f"half B: {pre['held_out_half_B']}",
        f"health: {r['health'].get('status')}",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
