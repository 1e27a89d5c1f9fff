"""The library health refresh, incremental (issue 21): 10,000 local performers, 1% changed.

A Stash stand-in (standins/library_world.py, real HTTP, Stash's schema) serves `--performers`
local performers, one in `--image-every` with a picture (LFW photos from ../shared/eval); the
refresh (app.library_health.HealthRunner, in this process, with the library benchmark's face
database) runs once in full, then `--changed` (a share) of the performers with a picture get a
new one through `performerUpdate` (which stamps `updated_at`, as Stash does) and the refresh
runs again, paced at `--rate` requests a second (Stash's default pace for the scan: 4). The first
refresh runs at `--first-rate` to save time; its paced length is its requests over 4 a second.

    python -m bench.library_refresh                       # bench/results/library-refresh.json
    python -m bench.library_refresh --performers 2000     # smaller

Timings depend on the machine's other load: the JSON records the load average and CPU seconds.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import resource
import sys
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import httpx

from bench.bench_library import RESULTS, STASH_KEY, world_stand_in
from bench.evaldata import FACES, require_eval
from bench.library_world import LIBRARY
from stash_sense.app.library_health import HealthRunner
from stash_sense.app.recognizer import open_recognizer
from stash_sense.library import LibraryStore, health_refresh

UPDATE = "mutation($i: PerformerUpdateInput!) { performerUpdate(input: $i) { id } }"


def photos() -> list[Path]:
    people = sorted(p for p in (FACES / "lfw-dev").iterdir() if p.is_dir())
    return [sorted(p.glob("*.jpg"))[0] for p in people]


def make_world(n: int, every: int) -> Path:
    pictures = photos()
    performers: list[dict[str, Any]] = []
    for i in range(1, n + 1):
        image = str(pictures[(i // every) % len(pictures)]) if i % every == 0 else None
        performers.append({"id": str(i), "name": f"Performer {i}", "stash_ids": [], "image": image})
    path = LIBRARY / f"refresh-world-{n}-{every}.json"
    LIBRARY.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"clips": [], "scenes": [], "performers": performers}))
    return path


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def refresh(runner: HealthRunner, url: str) -> dict[str, Any]:
    before = len(httpx.get(url + "/__requests", timeout=60).json())
    started, cpu = time.monotonic(), cpu_s()
    runner.start()
    runner.wait()
    status = runner.status()
    requests = len(httpx.get(url + "/__requests", timeout=60).json()) - before
    return {"wall_s": round(time.monotonic() - started, 1), "cpu_s": round(cpu_s() - cpu, 1),
            "read": status.total, "unchanged": status.unchanged, "failed": status.failed,
            "requests": requests, "paced_s_at_4_per_s": round(requests / 4, 1),
            "links": status.links, "merges": status.merges, "reason": status.reason}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--performers", type=int, default=10_000)
    parser.add_argument("--image-every", type=int, default=20, help="one in N has a picture")
    parser.add_argument("--changed", type=float, default=0.01, help="share of performers changed")
    parser.add_argument("--rate", type=float, default=4.0, help="requests/s of the second run")
    parser.add_argument("--first-rate", type=float, default=200.0)
    parser.add_argument("--db", type=Path, default=LIBRARY / "built-1040")
    args = parser.parse_args(argv)
    require_eval()
    health_refresh.SETTLE_S = 0.0  # the stand-in's performers were all made a moment ago
    os.environ["STASH_SENSE_STASH_API_KEY"] = STASH_KEY
    world = make_world(args.performers, args.image_every)
    pictured = [str(i) for i in range(1, args.performers + 1) if i % args.image_every == 0]
    changed = pictured[: max(1, round(args.performers * args.changed))]
    load_start = os.getloadavg()
    rec = open_recognizer(args.db)
    data = LIBRARY / f"refresh-state-{int(time.time())}"
    data.mkdir(parents=True)
    store = LibraryStore.in_folder(data)
    new_photo = photos()[-1].with_name(sorted(photos()[-1].parent.glob("*.jpg"))[-1].name)
    image = "data:image/jpeg;base64," + base64.b64encode(new_photo.read_bytes()).decode()
    with world_stand_in(world) as url:
        use = lambda: nullcontext(rec)  # noqa: E731
        first = refresh(HealthRunner(store, url, STASH_KEY, use, requests_per_s=args.first_rate),
                        url)  # fmt: skip
        client = httpx.Client(base_url=url, headers={"ApiKey": STASH_KEY}, timeout=60)
        for pid in changed:
            body = {"query": UPDATE, "variables": {"i": {"id": pid, "image": image}}}
            client.post("/graphql", json=body).raise_for_status()
        second = refresh(HealthRunner(store, url, STASH_KEY, use, requests_per_s=args.rate), url)
    results = {
        "performers": args.performers, "with_picture": len(pictured), "changed": len(changed),
        "first_refresh_full": {**first, "rate_per_s": args.first_rate},
        "second_refresh_incremental": {**second, "rate_per_s": args.rate},
        "load_average_start": [round(x, 2) for x in load_start],
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "note": "2-core machine shared with other work: see the load averages; the first refresh "
        "ran unpaced-ish to save time, its paced length at 4 requests/s is requests / 4",
    }  # fmt: skip
    out = RESULTS / "library-refresh.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    print(f"wrote {out}")
    store.close()
    rec.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
