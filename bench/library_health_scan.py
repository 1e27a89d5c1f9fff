"""The library health kinds on scenes chosen for them: duplicates tagged alone, and tagged scenes.

bench_library scans a random sample of the library, in which a duplicated local performer is
almost never tagged (16 duplicates among 20,000 scenes), so "merge from tagged scenes' faces"
and "check this scene" get too few scenes there. This run serves the same world with chosen
scenes edited first (their `updated_at` moved before every other scene's, nothing else
changed), scans them with the real `stash-sense scan --scope all` and measures every kind
through the sidecar's `/library/health`, per identity half (A tuning, B held out):

- for every identity with two local performers, up to `--per-performer` scenes on which each of
  the two is the only performer tagged (whatever the clip holds: strangers, others, wrong tags);
- `--tagged` more scenes drawn at random among all tagged scenes (about 15% wrongly tagged),
  the ground for "check" and for false merges through wrongly tagged scenes.

    python -m bench.library_health_scan                       # 2 a performer + 60 tagged
    python -m bench.library_health_scan --per-performer 1 --tagged 40
    python -m bench.library_health_scan --resume bench/work/library/health-N  # go on with it

Writes bench/results/library-health-scan.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import time
from pathlib import Path
from typing import Any

from bench.bench_library import RESULTS, STASH_KEY, Watch, scan_until, world_stand_in
from bench.evaldata import require_eval
from bench.library_figures import accuracy, stored
from bench.library_health import measure_health
from bench.library_world import LIBRARY, SEED, WorldSize, build_world, built_library_db
from bench.sidecar_world import pin_cores


def choose(world: dict[str, Any], per_performer: int, tagged: int) -> list[str]:
    """The scene ids to scan first (see the module docstring), in a seeded random order."""
    rng = random.Random(SEED + 2)
    identity = {p["id"]: p["identity"] for p in world["performers"]}
    counts: dict[str, int] = {}
    for p in world["performers"]:
        counts[p["identity"]] = counts.get(p["identity"], 0) + 1
    duplicated = {pid for pid, name in identity.items() if counts[name] > 1}
    alone: dict[str, list[str]] = {}
    for s in world["scenes"]:
        if len(s["performers"]) == 1 and s["performers"][0] in duplicated:
            alone.setdefault(s["performers"][0], []).append(s["id"])
    chosen: list[str] = []
    for pid in sorted(alone, key=int):
        chosen += rng.sample(alone[pid], min(per_performer, len(alone[pid])))
    taken = set(chosen)
    pool = [s["id"] for s in world["scenes"] if s["performers"] and s["id"] not in taken]
    chosen += rng.sample(pool, tagged)
    rng.shuffle(chosen)
    return chosen


def edited_first(world: dict[str, Any], first: list[str]) -> dict[str, Any]:
    """The world with the `first` scenes' edit times the earliest, in that order; every other
    scene keeps its place among the rest (the stamps are only handed out again)."""
    stamps = sorted(s["updated"] for s in world["scenes"])
    rank = {sid: n for n, sid in enumerate(first)}
    rest = sorted((s for s in world["scenes"] if s["id"] not in rank), key=lambda s: s["updated"])
    order = sorted((s for s in world["scenes"] if s["id"] in rank), key=lambda s: rank[s["id"]])
    new = {s["id"]: stamp for s, stamp in zip(order + rest, stamps, strict=True)}
    return {**world, "scenes": [{**s, "updated": new[s["id"]]} for s in world["scenes"]]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Library health kinds on chosen scenes.")
    parser.add_argument("--per-performer", type=int, default=2)
    parser.add_argument("--tagged", type=int, default=60)
    parser.add_argument("--rate", type=float, default=4.0, help="the scan's Stash requests/s")
    parser.add_argument(
        "--resume", type=Path, default=None,
        help="an earlier run's state folder (bench/work/library/health-N): its scan goes on",
    )  # fmt: skip
    args = parser.parse_args(argv)
    require_eval()
    pin_cores(2)
    world = build_world(WorldSize())
    db = built_library_db(world)
    first = choose(world, args.per_performer, args.tagged)
    path = LIBRARY / f"world-health-{args.per_performer}-{args.tagged}.json"
    path.write_text(json.dumps(edited_first(world, first)))
    data = args.resume or LIBRARY / f"health-{int(time.time())}"
    data.mkdir(parents=True, exist_ok=True)
    load_start = os.getloadavg()
    started = time.monotonic()
    with world_stand_in(path) as url:
        run = scan_until(db, url, data, len(first), signal.SIGINT, Watch(), args.rate)
        scenes = stored(data / "library.sqlite")
        health = measure_health(world, db, url, data, STASH_KEY, scenes)
    done = [sid for sid, s in scenes.items() if s["status"] == "done"]
    results = {
        "setup": {
            "chosen_scenes": len(first), "per_performer": args.per_performer,
            "tagged": args.tagged, "scanned": len(scenes), "done": len(done),
            "scanned_are_the_chosen": set(scenes) == set(first),
            "load_average_start": [round(x, 2) for x in load_start],
            "load_average_end": [round(x, 2) for x in os.getloadavg()],
            "wall_s": round(time.monotonic() - started, 1), "state": str(data),
        },
        "scan": run,
        "accuracy": accuracy(world, scenes),
        "health": health,
    }  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "library-health-scan.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps({k: results[k] for k in ("setup", "health")}, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
