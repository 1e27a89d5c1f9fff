"""Scene identification end to end through the sidecar over HTTP, on 2 cores.

The sidecar (`stash-sense serve`, one worker) reads every scene from the Stash stand-in (real Stash
schema) and its database holds 0.jpg of every lfw-dev identity plus 300 distractors. Measured:
- sprite: /identify/scene on each 81-thumbnail sprite sheet (source "sprite"), target < 2 s;
- auto: the default (sprite to find faces, 40 full-size video frames to identify them), target
  < 4 s, and the library scan's 1,500 scenes an hour (2.4 s a scene; "on cpu": the rate if both
  cores did nothing else, from the CPU time);
- long: a 20-minute 1080p video made with ffmpeg from face pictures, 40 frames, target < 6 s;
- wall time, and the CPU time the sidecar (with its ffmpeg) spent: on a shared machine the wall
  time grows with the other load, the CPU time does not;
- accuracy per scene vs truth.json: found (a person's best match, tier possible or better),
  missed, and anyone absent reported as high or likely (must be nobody).

    python -m bench.bench_scene          # BENCH_QUICK=1: small database, 2-minute long video
    python -m bench.bench_scene --accuracy   # only who is found (sprite and auto), full database

Writes bench/results/scene.json (scene-quick.json in quick mode); videos are cached in bench/work.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from typing import Any

import httpx
import psutil

from bench.evaldata import require_eval
from bench.sidecar_world import (
    API_KEY,
    ROOT,
    enrolled_db,
    pin_cores,
    scenes_dir,
    sidecar,
    stand_in,
)

QUICK = os.environ.get("BENCH_QUICK") == "1"
RESULTS = ROOT / "bench" / "results" / ("scene-quick.json" if QUICK else "scene.json")
LONG_MINUTES = 2.0 if QUICK else 20.0
FRAMES = 40
CONFIDENT = ("high", "likely")
REFERENCE = {
    "public project, GPU (GTX 1080), 60 frames": "about 5 s per scene",
    "public project, CPU": "2-3 s per frame for detection",
    "public project, scene accuracy": "about 42% (33% precision), 20 scenes",
}


def evaluate(result: dict[str, Any], truth: list[str]) -> dict[str, Any]:
    """Who was found, missed, or confidently reported without being there (any match shown,
    not only a person's best), and performers offered for more than one person."""
    best = [p["matches"][0] for p in result["persons"] if p["matches"]]
    named = [(m["name"].replace(" ", "_"), m["tier"]) for m in best]
    shown = [(m["name"].replace(" ", "_"), m["tier"]) for p in result["persons"]
             for m in p["matches"]]  # fmt: skip
    found = sorted({n for n, tier in named if n in truth and tier != "unlikely"})
    false = sorted({n for n, tier in shown if n not in truth and tier in CONFIDENT})
    false_high = sorted({n for n, tier in shown if n not in truth and tier == "high"})
    offered = [m["performer_id"] for p in result["persons"] for m in p["matches"]]
    return {
        "people": len(truth),
        "found": found,
        "missed": sorted(set(truth) - set(found)),
        "false_confident": false,
        "false_high": false_high,
        "persons_reported": len(result["persons"]),
        "performers_shown_twice": len(offered) - len(set(offered)),
        "correct": set(found) == set(truth) and not false,
    }


def cpu_seconds(proc: psutil.Process) -> float:
    """CPU time of the sidecar and of the ffmpeg processes it ran (user + system)."""
    t = proc.cpu_times()
    return float(t.user + t.system + t.children_user + t.children_system)


def one_scene(
    client: httpx.Client, proc: psutil.Process, scene: str, **options: Any
) -> tuple[float, float, dict[str, Any]]:
    """Wall time, sidecar CPU time and the answer of one /identify/scene."""
    cpu0 = cpu_seconds(proc)
    started = time.perf_counter()
    r = client.post("/identify/scene", json={"scene_id": scene.split("-")[1], **options})
    wall = time.perf_counter() - started
    if r.status_code != 200:
        raise RuntimeError(f"{scene}: HTTP {r.status_code}: {r.text[:300]}")
    body: dict[str, Any] = r.json()
    return wall, cpu_seconds(proc) - cpu0, body


def run_mode(
    client: httpx.Client,
    proc: psutil.Process,
    truth: dict[str, list[str]],
    scenes: list[str],
    **options: Any,
) -> dict[str, Any]:
    rows = []
    for scene in scenes:
        wall, cpu, result = one_scene(client, proc, scene, **options)
        rows.append({"scene": scene, "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
                     "source": result["source"],
                     "frames": result["frames_sampled"], "faces": result["faces_detected"],
                     **evaluate(result, truth[scene])})  # fmt: skip
    walls = [r["wall_s"] for r in rows]
    cpus = [r["cpu_s"] for r in rows]
    people = sum(r["people"] for r in rows)
    return {
        "options": options,
        "median_wall_s": round(statistics.median(walls), 3),
        "max_wall_s": round(max(walls), 3),
        "median_cpu_s": round(statistics.median(cpus), 3),
        "max_cpu_s": round(max(cpus), 3),
        "recall": round(sum(len(r["found"]) for r in rows) / people, 3),
        "false_confident": sum(len(r["false_confident"]) for r in rows),
        "false_high": sum(len(r["false_high"]) for r in rows),
        "performers_shown_twice": sum(r["performers_shown_twice"] for r in rows),
        "scene_accuracy": round(sum(r["correct"] for r in rows) / len(rows), 3),
        "scenes": rows,
    }


ACCURACY_ONLY = "--accuracy" in sys.argv[1:]


def write_accuracy(sprite: dict[str, Any], auto: dict[str, Any], info: dict[str, Any]) -> None:
    """The accuracy figures alone (bench/results/scene-accuracy.json)."""
    out = {
        "database": {"performers": info.get("performers"), "faces": info.get("faces")},
        **{
            mode: {
                k: r[k]
                for k in (
                    "recall",
                    "false_confident",
                    "false_high",
                    "performers_shown_twice",
                    "scene_accuracy",
                    "scenes",
                )
            }
            for mode, r in (("sprite", sprite), ("auto", auto))
        },
    }
    path = RESULTS.with_name("scene-accuracy.json")
    path.write_text(json.dumps(out, indent=2) + "\n")
    for mode in ("sprite", "auto"):
        r = out[mode]
        print(f"{mode}: scenes right {r['scene_accuracy']:.0%}, recall {r['recall']:.0%}, "
              f"absent reported high/likely {r['false_confident']}, "
              f"performers shown twice {r['performers_shown_twice']}")  # fmt: skip
    print(f"wrote {path}")


def main() -> int:
    require_eval()
    cpus = pin_cores(2)
    db = enrolled_db(QUICK)
    # accuracy only: the quick folder (its long video is 2 minutes and not used)
    folder, truth = scenes_dir(True, 2.0) if ACCURACY_ONLY else scenes_dir(QUICK, LONG_MINUTES)
    short = sorted(s for s in truth if s != "scene-100")
    load_start = os.getloadavg()[0]
    with stand_in(folder) as stash, sidecar(db, stash, "--workers", "1") as (url, pid):
        proc = psutil.Process(pid)
        client = httpx.Client(base_url=url, headers={"X-API-Key": API_KEY}, timeout=900)
        one_scene(client, proc, short[0], source="sprite")  # warm-up: first inference, caches
        sprite = run_mode(client, proc, truth, short, source="sprite")
        auto = run_mode(client, proc, truth, short, frames=FRAMES)
        info = client.get("/database/info").json()["counts"]
        if ACCURACY_ONLY:
            write_accuracy(sprite, auto, info)
            return 0
        video = run_mode(client, proc, truth, short, source="video", frames=FRAMES)
        long_run = run_mode(client, proc, truth, ["scene-100"], source="video", frames=FRAMES)
    results: dict[str, Any] = {
        "quick": QUICK,
        "setup": {
            "cores": len(cpus),
            "database": {"performers": info.get("performers"), "faces": info.get("faces")},
            "long_video": f"{LONG_MINUTES:g} min 1920x1080, 5 fps, H.264",
            "frames": FRAMES,
            "load_average_1m": [round(load_start, 2), round(os.getloadavg()[0], 2)],
            "python": platform.python_version(),
            "cpu": platform.processor() or platform.machine(),
        },
        "targets": {  # issue 24 (sprite, auto, long) and issue 21 (library scan rate)
            "sprite_scene_s": 2.0,
            "auto_scene_s": 4.0,
            "long_video_40_frames_s": 6.0,
            "scan_scenes_per_hour": 1500,
            "sprite_met": sprite["max_wall_s"] < 2.0,
            "auto_met": auto["max_wall_s"] < 4.0,
            "long_met": long_run["max_wall_s"] < 6.0,
            "auto_scenes_per_hour": round(3600 / auto["median_wall_s"]),
            "auto_scenes_per_hour_on_cpu": round(2 * 3600 / auto["median_cpu_s"]),
        },
        "sprite": sprite,
        "auto": auto,
        "video": video,
        "long": long_run,
        "reference": REFERENCE,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps({k: v for k, v in results.items() if k in ("setup", "targets")}, indent=2))
    for name in ("sprite", "auto", "video", "long"):
        mode = results[name]
        print(f"{name:7s} median {mode['median_wall_s']:.2f} s (cpu {mode['median_cpu_s']:.2f} s)  "
              f"max {mode['max_wall_s']:.2f} s  "
              f"recall {mode['recall']:.2f}  false confident {mode['false_confident']} "
              f"(high {mode['false_high']})  "
              f"scene accuracy {mode['scene_accuracy']:.2f}")  # fmt: skip
        for row in mode["scenes"]:
            found = f"{len(row['found'])}/{row['people']}"
            print(f"   {row['scene']:10s} {row['wall_s']:6.2f} s (cpu {row['cpu_s']:5.2f} s)  "
                  f"found {found}  "
                  f"missed {row['missed']}  false {row['false_confident']}")  # fmt: skip
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
