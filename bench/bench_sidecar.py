"""The sidecar under load: 50 concurrent /identify requests over HTTP, on 2 cores.

`stash-sense serve` (a subprocess, 2 workers) answers 50 multipart uploads of LFW photos sent at
once. Round "queued": the queue holds them all: none may be lost, every answer must be right;
p50/p95/max latency and the sidecar's peak RSS are reported. Round "default": the default queue
(8): the rest are turned away at once with 503 + Retry-After, and still none is lost (every
request gets an answer). Round "flood" (issue 12): 20 uploads of a 30 MB photo and 100 /identify
of LFW photos, all at the same moment, default queue: the sidecar's RSS must stay under 1.5 GB
and none may be lost (a 503 with Retry-After is an answer); how many got which status is counted
per kind.

    python -m bench.bench_sidecar        # BENCH_QUICK=1: 12 requests (flood: 4 + 20)

Writes bench/results/sidecar.json (sidecar-quick.json in quick mode).
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import platform
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench.evaldata import require_eval
from bench.sidecar_world import (
    API_KEY,
    FACES,
    ROOT,
    WORK,
    enrolled_db,
    pin_cores,
    scenes_dir,
    sidecar,
    stand_in,
)

QUICK = os.environ.get("BENCH_QUICK") == "1"
RESULTS = ROOT / "bench" / "results" / ("sidecar-quick.json" if QUICK else "sidecar.json")
REQUESTS = 12 if QUICK else 50
FLOOD_UPLOADS, FLOOD_IDENTIFY = (4, 20) if QUICK else (20, 100)
BIG_UPLOAD_MB = 30
RSS_LIMIT_MB = 1536


def big_photo() -> Path:
    """A ~30 MB JPEG photo-sized image (cached): 20 MP of coarse noise at high quality."""
    path = WORK / "big-upload.jpg"
    if path.is_file():
        return path
    import cv2
    import numpy as np

    rng = np.random.default_rng(12)
    side = (4000, 5000)
    img = rng.integers(0, 255, (*side, 3), np.uint8)
    quality = 100
    while True:
        ok, data = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
        assert ok
        if data.size <= BIG_UPLOAD_MB * 1024 * 1024 or quality <= 50:
            break
        quality -= 5
    WORK.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.tobytes())
    return path


def photos(n: int, enrolled: set[str]) -> list[tuple[str, Path]]:
    """`n` (identity, photo) pairs: pictures other than the enrolled 0.jpg, of enrolled people."""
    people = sorted(p for p in (FACES / "lfw-dev").iterdir() if p.name in enrolled)
    out = []
    for i in range(n):
        person = people[i % len(people)]
        pictures = sorted(person.glob("[1-9].jpg"))
        out.append((person.name, pictures[(i // len(people)) % len(pictures)]))
    return out


class PeakRss:
    """Samples a process's resident memory every 50 ms in a thread."""

    def __init__(self, pid: int) -> None:
        self.proc = psutil.Process(pid)
        self.peak = self.proc.memory_info().rss
        self.start = self.peak
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, self.proc.memory_info().rss)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def flood(url: str, photos_batch: list[tuple[str, Path]], big: Path) -> dict[str, Any]:
    """FLOOD_UPLOADS big uploads and the photos, all at once; statuses counted per kind."""
    batch = [("big", big)] * FLOOD_UPLOADS + photos_batch
    records = burst(url, batch)
    kinds: dict[str, dict[str, int]] = {"big_upload": {}, "identify": {}}
    for (name, _), record in zip(batch, records, strict=True):
        kind = kinds["big_upload" if name == "big" else "identify"]
        status = str(record["status"] or "lost")
        kind[status] = kind.get(status, 0) + 1
    return summary(records) | {"statuses": kinds}


def burst(url: str, batch: list[tuple[str, Path]]) -> list[dict[str, Any]]:
    """Send every request at the same moment; one record per request."""
    start = threading.Barrier(len(batch))

    def one(item: tuple[str, Path]) -> dict[str, Any]:
        name, path = item
        data = path.read_bytes()
        with httpx.Client(base_url=url, headers={"X-API-Key": API_KEY}, timeout=600) as c:
            start.wait()
            t0 = time.perf_counter()
            try:
                r = c.post("/identify", files={"image": (path.name, data)})
            except httpx.HTTPError as err:
                return {"status": None, "error": str(err), "latency_s": None}
            latency = time.perf_counter() - t0
            record: dict[str, Any] = {"status": r.status_code, "latency_s": latency}
            if r.status_code == 200:
                faces = r.json()["faces"]
                top = faces[0]["matches"][0]["name"] if faces and faces[0]["matches"] else None
                record["right"] = top == name.replace("_", " ")
            elif r.status_code == 503:
                record["retry_after"] = r.headers.get("Retry-After")
            return record

    with concurrent.futures.ThreadPoolExecutor(len(batch)) as pool:
        return list(pool.map(one, batch))


def summary(records: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [r for r in records if r["status"] == 200]
    lat = sorted(r["latency_s"] for r in ok)

    def pct(q: float) -> float:
        return round(lat[min(len(lat) - 1, int(q * len(lat)))], 3) if lat else 0.0

    return {
        "sent": len(records),
        "answered": sum(r["status"] is not None for r in records),
        "lost": sum(r["status"] is None for r in records),
        "ok": len(ok),
        "right_top_match": sum(bool(r.get("right")) for r in ok),
        "busy_503": sum(r["status"] == 503 for r in records),
        "busy_with_retry_after": sum(bool(r.get("retry_after")) for r in records),
        "other_status": sorted({r["status"] for r in records} - {200, 503, None}),
        "latency_s": {
            "p50": pct(0.5),
            "p95": pct(0.95),
            "max": round(max(lat), 3) if lat else 0,
            "mean": round(statistics.mean(lat), 3) if lat else 0,
        },
    }


def main() -> int:
    require_eval()
    cpus = pin_cores(2)
    db = enrolled_db(QUICK)
    folder, _ = scenes_dir(QUICK, 2.0 if QUICK else 20.0)
    enrolled = {p.name.replace(" ", "_") for p in (db.parent / f"{db.name}-src").iterdir()}
    batch = photos(REQUESTS, enrolled)
    rounds: dict[str, Any] = {}
    with stand_in(folder) as stash:
        for name, extra in [("queued", ["--queue", str(REQUESTS)]), ("default", [])]:
            with sidecar(db, stash, "--workers", "2", *extra) as (url, pid):
                burst(url, batch[:2])  # warm-up: first inference loads the networks
                with PeakRss(pid) as rss:
                    t0 = time.perf_counter()
                    records = burst(url, batch)
                    wall = time.perf_counter() - t0
                mb = {"idle": round(rss.start / 2**20, 1), "peak": round(rss.peak / 2**20, 1)}
                rounds[name] = summary(records) | {
                    "wall_s": round(wall, 3),
                    "throughput_per_s": round(len(records) / wall, 2),
                    "rss_mb": mb,
                }
        big = big_photo()
        many = photos(FLOOD_IDENTIFY, enrolled)
        with sidecar(db, stash, "--workers", "2", "--max-upload-mb", "32") as (url, pid):
            burst(url, batch[:2])
            with PeakRss(pid) as rss:
                t0 = time.perf_counter()
                result = flood(url, many, big)
                wall = time.perf_counter() - t0
            mb = {"idle": round(rss.start / 2**20, 1), "peak": round(rss.peak / 2**20, 1)}
            rounds["flood"] = result | {
                "wall_s": round(wall, 3),
                "rss_mb": mb,
                "rss_under_limit": mb["peak"] < RSS_LIMIT_MB,
                "big_upload_mb": round(big.stat().st_size / 2**20, 1),
            }
    results = {
        "quick": QUICK,
        "setup": {
            "cores": len(cpus),
            "requests": REQUESTS,
            "workers": 2,
            "images": "lfw-dev photos (not the enrolled 0.jpg), multipart upload",
            "load_average_1m": round(os.getloadavg()[0], 2),
            "python": platform.python_version(),
        },
        "rounds": rounds,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    print(f"wrote {RESULTS}")
    ok = all(r["lost"] == 0 for r in rounds.values()) and rounds["flood"]["rss_under_limit"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
