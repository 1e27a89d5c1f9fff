"""Database releases at 10,000 performers: delta size, update time on loopback, hot swap.

A synthetic database (10,000 performers x 3 faces, random unit vectors stored under the default
engine's models, so the sidecar loads it) is packaged as release 1; 1% of the performers then
change (renamed, one new face each) and release 2 follows, with a delta from release 1.
Measured: the delta's size against the full release's (target < 5%); `db update` from nothing
(full) and from release 1 (delta) over loopback: download, verify (unpack, rebuild, hashes) and
swap times; then the sidecar, installing release 2 on POST /database/update while 4 clients send
/identify without pause: every request must be answered.

    python -m bench.bench_release        # BENCH_QUICK=1: 1,000 performers

Writes bench/results/release.json (release-quick.json in quick mode).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from bench.sidecar_world import API_KEY, ROOT, WORK, sidecar
from stash_sense.database import DatabaseWriter, EmbedderInfo, PerformerRecord
from stash_sense.release import (
    ReleaseHost,
    generate_key,
    load_signing_key,
    package,
    trusted_keys,
    update,
)
from stash_sense_devkit.standins.launch import free_port

QUICK = os.environ.get("BENCH_QUICK") == "1"
PERFORMERS = 1_000 if QUICK else 10_000
FACES_EACH = 3
CHANGED = PERFORMERS // 100
RESULTS = ROOT / "bench" / "results" / ("release-quick.json" if QUICK else "release.json")
BASE = WORK / f"release-{PERFORMERS}"
PHOTO = ROOT / "src" / "stash_sense" / "demo_data" / "queries" / "photo-richard-gere.jpg"
ENDPOINT = "https://stashdb.org/graphql"


def engine_infos() -> list[EmbedderInfo]:
    from stash_sense.faces import FaceEngine

    return [EmbedderInfo.from_embedder(e) for e in FaceEngine.default().embedders]


def add_faces(w: DatabaseWriter, rng: np.random.Generator, pid: int, tag: str, n: int) -> None:
    for k in range(n):
        vectors = {}
        for e in w.embedders:
            v = rng.normal(size=e.dim).astype(np.float32)
            vectors[e.name] = (v / np.linalg.norm(v)).tobytes()
        image = f"https://img.example/{tag}/{k}.jpg"
        w.add_face_vectors(pid, "stashdb", image, 0, (1, 2, 80, 96), 0.9, "{}", vectors)


def build_releases() -> tuple[Path, Path, dict[str, float]]:
    """Release folders after release 1 and after release 2 (kept under bench/work)."""
    stage1, stage2 = BASE / "served" / "stage1", BASE / "served" / "stage2"
    timings_path = BASE / "package-timings.json"
    if (stage2 / "index.json").exists() and timings_path.exists():
        return stage1, stage2, json.loads(timings_path.read_text())
    shutil.rmtree(BASE, ignore_errors=True)
    BASE.mkdir(parents=True)
    key = BASE / "release.key"
    (BASE / "keys.json").write_text(json.dumps({"keys": [generate_key(key)]}))
    signing = [load_signing_key(key)]
    rng = np.random.default_rng(1)
    src, out = BASE / "src", BASE / "releases"
    timings: dict[str, float] = {}
    with DatabaseWriter.open(src, engine_infos()) as w:
        with w.transaction():
            for i in range(PERFORMERS):
                rec = PerformerRecord(f"Performer {i}", stash_ids=[(ENDPOINT, f"p{i}")])
                add_faces(w, rng, w.upsert_performer(rec, "stashdb"), str(i), FACES_EACH)
        w.publish()
        started = time.perf_counter()
        package(src, out, signing, "1.0")
        timings["package_full_s"] = time.perf_counter() - started
        shutil.copytree(out, stage1, ignore=shutil.ignore_patterns(".canonical"))
        with w.transaction():
            for i in rng.choice(PERFORMERS, CHANGED, replace=False):
                rec = PerformerRecord(f"Performer {i} renamed", stash_ids=[(ENDPOINT, f"p{i}")])
                add_faces(w, rng, w.upsert_performer(rec, "stashdb"), f"{i}-new", 1)
        w.publish()
        started = time.perf_counter()
        package(src, out, signing, "2.0")
        timings["package_full_and_delta_s"] = time.perf_counter() - started
        shutil.copytree(out, stage2, ignore=shutil.ignore_patterns(".canonical"))
    shutil.rmtree(src)
    timings_path.write_text(json.dumps(timings))
    return stage1, stage2, timings


def static_host(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Python's own static file server on loopback (the release host)."""
    port = free_port()
    cmd = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
    proc = subprocess.Popen([*cmd, "--directory", str(folder)], stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            httpx.get(url + "/", timeout=1)
            return proc, url
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError("the static host did not start")


def timed_update(index: str, root: Path) -> dict[str, Any]:
    keys = trusted_keys(BASE / "keys.json")
    started = time.perf_counter()
    with ReleaseHost(index) as host:
        result = update(host, root, keys)
    result["total_s"] = round(time.perf_counter() - started, 3)
    return result


def hot_swap(index: str, root: Path) -> dict[str, Any]:
    """The sidecar installs release 2 while 4 clients keep asking; every answer is counted."""
    photo = PHOTO.read_bytes()
    extra = ["--workers", "2", "--queue", "16", "--release-index", index,
             "--release-keys", str(BASE / "keys.json")]  # fmt: skip
    answers: list[tuple[float, float, int]] = []
    stop = threading.Event()
    with sidecar(root, "http://127.0.0.1:9", *extra) as (url, _pid):

        def ask() -> None:
            with httpx.Client(base_url=url, headers={"X-API-Key": API_KEY}, timeout=120) as c:
                while not stop.is_set():
                    sent = time.perf_counter()
                    r = c.post("/identify", content=photo, headers={"Content-Type": "image/jpeg"})
                    answers.append((sent, time.perf_counter(), r.status_code))

        clients = [threading.Thread(target=ask) for _ in range(4)]
        for t in clients:
            t.start()
        time.sleep(2.0)
        with httpx.Client(base_url=url, headers={"X-API-Key": API_KEY}, timeout=60) as c:
            began = time.perf_counter()
            assert c.post("/database/update").status_code == 202
            while (state := c.get("/database/update").json())["state"] == "running":
                time.sleep(0.1)
            ended = time.perf_counter()
        time.sleep(2.0)
        stop.set()
        for t in clients:
            t.join()
    during = [a for a in answers if a[1] >= began and a[0] <= ended]
    return {
        "state": state["state"],
        "update": state.get("result", {}).get("seconds"),
        "update_wall_s": round(ended - began, 3),
        "requests": len(answers),
        "requests_during_update": len(during),
        "not_200": sum(1 for a in answers if a[2] != 200),
        "max_latency_during_update_s": round(max((a[1] - a[0] for a in during), default=0), 3),
    }


def main() -> int:
    _stage1, stage2, package_timings = build_releases()
    index2 = json.loads((stage2 / "index.json").read_text())["releases"][0]
    full_size, delta_size = index2["full"]["size"], index2["delta"]["size"]
    proc, url = static_host(BASE / "served")
    try:
        clients = BASE / "clients"
        shutil.rmtree(clients, ignore_errors=True)
        full = timed_update(f"{url}/stage2/index.json", clients / "full")
        timed_update(f"{url}/stage1/index.json", clients / "delta")
        delta = timed_update(f"{url}/stage2/index.json", clients / "delta")
        timed_update(f"{url}/stage1/index.json", clients / "sidecar")
        swap = hot_swap(f"{url}/stage2/index.json", clients / "sidecar")
    finally:
        proc.terminate()
        proc.wait()
    figures = {
        "performers": PERFORMERS,
        "faces": PERFORMERS * FACES_EACH + CHANGED,
        "changed_performers": CHANGED,
        "full_release_bytes": full_size,
        "delta_release_bytes": delta_size,
        "delta_share_of_full": round(delta_size / full_size, 5),
        "target_delta_share": 0.05,
        **{k: round(v, 2) for k, v in package_timings.items()},
        "update_full": {k: full[k] for k in ("method", "seconds", "total_s")},
        "update_delta": {k: delta[k] for k in ("method", "seconds", "total_s")},
        "sidecar_hot_swap": swap,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
    print(
        f"delta {delta_size / 1e6:.2f} MB = {delta_size / full_size:.2%} of the full "
        f"{full_size / 1e6:.1f} MB (target < 5%); full update {full['total_s']:.1f} s, "
        f"delta update {delta['total_s']:.1f} s; hot swap: {swap['requests']} requests, "
        f"{swap['not_200']} not answered 200"
    )
    ok = delta_size / full_size < 0.05 and swap["not_200"] == 0 and swap["state"] == "done"
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
