"""The face database at the size of the real one: 110,000 performers / 370,000 faces per embedder.

The database (bench/scale_world.py: real LFW identities among synthetic performers whose vectors
are fitted to real faces, written by the product's DatabaseWriter) is cached in
bench/work/scale/db. Measured:

- the synthetic vectors against real ones (distance statistics, `model_check`);
- size on disk (the generation folder) and as a release (the files gzip'd as `db package` packs
  them), beside the anchor's 1,478 MB zip / 2.5 GB;
- per face search: `Matcher.match_face` on the real queries, p50/p95 (one query at a time, the
  process pinned to 2 cores), and the share of queries whose true performer is ranked first /
  within the top 5, beside an exact brute-force search over the same vectors (the same fused
  distance, every stored face). Identities of lfw-dev are the tuning half (search width chosen on
  them); the lfw-dev-extra half is reported as held out;
- the sidecar (`stash-sense serve`, a subprocess): cold start to the first /identify answer, RSS
  idle, and RSS / latency under 50 concurrent /identify requests;
- a 1% delta applied incrementally and verified (bench/scale_delta.py).

    python -m bench.scale_faces && python -m bench.bench_scale     # BENCH_QUICK=1: 11,000 / 37,000

Stages: `--no-search`, `--no-sidecar`, `--no-delta` leave one out (its figures from an earlier
run stay in the results file). `--compare-canonical` also times the canonical rebuild of the same
delta (the way below INCREMENTAL_FACES; 245 s at 37,000 faces, many minutes at full size). Writes
bench/results/scale.json (scale-quick.json in quick mode).
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil

from bench import scale_delta, scale_faces
from bench.bench_sidecar import PeakRss, burst, summary
from bench.evaldata import FACES as EVAL_FACES
from bench.scale_world import (
    ANCHOR_FACES,
    ANCHOR_PERFORMERS,
    DIM,
    EMBEDDERS,
    QUICK,
    WORK,
    FaceModel,
    RealSet,
    build,
    check_model,
    enrolled_and_queries,
    fused,
    load_real,
    split_normalise,
)
from bench.sidecar_world import API_KEY, pin_cores
from stash_sense.database import FaceDatabase
from stash_sense.database.publish import iter_vectors
from stash_sense.faces.types import AnalyzedFace, Box, DetectedFace, FaceQuality
from stash_sense.matching import Matcher
from stash_sense_devkit.standins.launch import free_port

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / ("scale-quick.json" if QUICK else "scale.json")
DB = WORK / ("db-quick" if QUICK else "db")
ANCHOR_ZIP_MB, ANCHOR_DISK_MB = 1478, 2500
TOP = 5
CONCURRENT = 50


def _mb(n: float) -> float:
    return round(n / 2**20, 1)


def sizes(db: Path) -> dict[str, Any]:
    """The generation's files on disk, and gzip'd at the level `db package` uses."""
    from stash_sense.release.archive import _LEVEL

    gen = (db / "current").resolve()
    disk = {p.name: p.stat().st_size for p in sorted(gen.iterdir()) if p.is_file()}
    packed = 0
    for p in sorted(gen.iterdir()):
        if p.is_file():
            counter = _Counter()
            gz = gzip.GzipFile(fileobj=counter, mode="wb", compresslevel=_LEVEL, mtime=0)
            with gz, p.open("rb") as f:
                shutil.copyfileobj(f, gz, 1 << 20)
            packed += counter.size
    return {
        "files_mb": {k: _mb(v) for k, v in disk.items()},
        "disk_mb": _mb(sum(disk.values())),
        "release_gzip_mb": _mb(packed),
        "anchor": {"zip_mb": ANCHOR_ZIP_MB, "disk_mb": ANCHOR_DISK_MB},
    }


class _Counter:
    """A write-only file that only counts bytes."""

    size = 0

    def write(self, data: bytes) -> int:
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        pass


def _face(vec: np.ndarray) -> AnalyzedFace:
    """A query face carrying a real photo's vectors (the matcher reads only `embeddings`)."""
    det = DetectedFace(Box(0, 0, 100, 100), 0.99, np.zeros((5, 2), np.float32))
    quality = FaceQuality(0.99, 100.0, 100.0, 0.0, 0.0, 0.0, True)
    return AnalyzedFace(
        det, quality, {e: vec[k * DIM : (k + 1) * DIM] for k, e in enumerate(EMBEDDERS)}
    )


def exact_ranks(db: FaceDatabase, queries: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """The rank of each query's true performer under brute force over every stored face."""
    conn = db._conn
    infos = {e: db.manifest.models[e] for e in EMBEDDERS}
    blocks = {e: list(iter_vectors(conn, infos[e])) for e in EMBEDDERS}
    ids = np.concatenate([np.asarray(i) for i, _ in blocks[EMBEDDERS[0]]])
    stored = np.concatenate(
        [np.concatenate([v for _, v in blocks[e]]) for e in EMBEDDERS], axis=1
    ).astype(np.float32)
    owner_of = db.face_performers(ids.tolist())
    owner = np.array([owner_of[int(i)] for i in ids])
    ranks = np.empty(len(queries), dtype=np.int64)
    for start in range(0, len(queries), 64):
        d = fused(queries[start : start + 64], stored, db.manifest.fusion)
        for r, row in enumerate(d):
            t = truth[start + r]
            best = row[owner == t].min()
            ranks[start + r] = np.unique(owner[row < best]).size
    return ranks


def search(
    db: FaceDatabase, real: RealSet, meta: dict[str, Any], model_weights: dict[str, float]
) -> dict[str, Any]:
    """Matcher vs exact over the real queries, per half (tuning / held out)."""
    _, q = enrolled_and_queries(real)
    names = [str(real.identities[i]).replace("_", " ") for i in q]
    truth = np.array([meta["real_performers"][n] for n in names])
    vecs = split_normalise(real.vectors[q])
    exact = exact_ranks(db, vecs, truth)
    matcher = Matcher(db)
    matcher.match_face(_face(vecs[0]), TOP)  # loads the indices
    got = np.full(len(q), TOP, dtype=np.int64)
    lat = np.empty(len(q))
    for i, v in enumerate(vecs):
        t0 = time.perf_counter()
        matches = matcher.match_face(_face(v), TOP)
        lat[i] = time.perf_counter() - t0
        found = [r for r, m in enumerate(matches) if m.performer_id == truth[i]]
        got[i] = found[0] if found else TOP
    out: dict[str, Any] = {}
    for half, group in (("tuning", "lfw-dev"), ("held_out", "lfw-dev-extra")):
        m = real.group[q] == group
        out[half] = _recall(exact[m], got[m]) | {"identities": len(set(real.identities[q][m]))}
    out["all"] = _recall(exact, got)
    out["latency_ms"] = {
        "p50": round(float(np.percentile(lat, 50)) * 1000, 2),
        "p95": round(float(np.percentile(lat, 95)) * 1000, 2),
        "max": round(float(lat.max()) * 1000, 2),
    }
    del model_weights
    return out


def _recall(exact: np.ndarray, got: np.ndarray) -> dict[str, Any]:
    out: dict[str, Any] = {"queries": len(exact)}
    for name, k in (("rank1", 1), ("top5", TOP)):
        e, g = int((exact < k).sum()), int((got < k).sum())
        out[name] = {
            "exact": e,
            "matcher": g,
            "matcher_of_exact": round(g / e, 4) if e else None,
            "exact_share": round(e / len(exact), 4),
        }
    return out


@contextlib.contextmanager
def _serve(db: Path) -> Any:
    port = free_port()
    data = WORK / "sidecar-data"
    data.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, STASH_SENSE_API_KEY=API_KEY, STASH_SENSE_DATA_DIR=str(data))
    env.pop("STASH_SENSE_STASH_URL", None)
    cmd = [sys.executable, "-m", "stash_sense.cli.app", "serve", "--db", str(db), "--port"]
    log = (data / "sidecar.log").open("wb")
    import subprocess

    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [*cmd, str(port), "--workers", "2", "--queue", str(CONCURRENT)],
        env=env,
        stdout=log,
        stderr=log,
    )
    try:
        yield f"http://127.0.0.1:{port}", proc, t0
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        log.close()


def sidecar(db: Path, real: RealSet) -> dict[str, Any]:
    """Cold start to first answer, RSS idle, 50 concurrent /identify."""
    _, q = enrolled_and_queries(real)
    picked = q[:: max(1, len(q) // CONCURRENT)][:CONCURRENT]
    photos = [
        (str(real.identities[i]), EVAL_FACES / str(real.group[i]) / str(real.identities[i]))
        for i in picked
    ]
    photos = [
        (name, folder / str(real.files[i]))
        for (name, folder), i in zip(photos, picked, strict=True)
    ]
    first = photos[0][1].read_bytes()
    with _serve(db) as (url, proc, t0):
        deadline = t0 + 600
        answer = None
        while answer is None:
            if proc.poll() is not None or time.perf_counter() > deadline:
                raise RuntimeError(f"sidecar did not answer; see {WORK / 'sidecar-data'}")
            with contextlib.suppress(httpx.HTTPError):
                r = httpx.post(
                    url + "/identify",
                    files={"image": ("q.jpg", first)},
                    headers={"X-API-Key": API_KEY},
                    timeout=600,
                )
                if r.status_code == 200:
                    answer = r.json()
                    break
            time.sleep(0.2)
        cold = time.perf_counter() - t0
        time.sleep(2)
        idle = psutil.Process(proc.pid).memory_info().rss
        with PeakRss(proc.pid) as rss:
            records = burst(url, photos)
    return {
        "cold_start_to_first_answer_s": round(cold, 2),
        "rss_idle_mb": _mb(idle),
        "concurrent": summary(records) | {"requests": len(photos), "rss_peak_mb": _mb(rss.peak)},
    }


def _save(results: dict[str, Any]) -> None:
    """Write what is measured so far (a later stage that fails keeps the earlier figures)."""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")


def main() -> int:
    cpus = pin_cores(2)
    for name in scale_faces.SETS:
        if not scale_faces.cache_path(name).is_file():
            sys.exit(f"no real vectors for {name}: run python -m bench.scale_faces first")
    real = load_real()
    model = FaceModel.fit(real)
    t0 = time.perf_counter()
    meta = build(DB, real, model)
    shutil.rmtree(DB / "staging", ignore_errors=True)  # the writer's copy; not what users hold
    build_s = time.perf_counter() - t0
    with FaceDatabase.open(DB) as db:
        weights = db.manifest.fusion
        # a stage left out keeps the figures of an earlier run (`--no-search` etc.)
        results: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
        results |= {
            "quick": QUICK,
            "setup": {
                "cores": len(cpus),
                "performers": db.manifest.counts["performers"],
                "faces_per_embedder": db.manifest.counts["faces"],
                "anchor": {"performers": ANCHOR_PERFORMERS, "faces": ANCHOR_FACES},
                "real_identities": len(meta["real_performers"]),
                "load_average_1m": round(os.getloadavg()[0], 2),
                "python": platform.python_version(),
            },
            "build": {k: meta[k] for k in ("rows_seconds", "publish_seconds")}
            | {"this_run_s": round(build_s, 1)},
            "model_check": check_model(model, real, weights),
            "size": sizes(DB),
        }
        _save(results)
        if "--no-search" not in sys.argv[1:]:
            results["search"] = search(db, real, meta, weights)
            _save(results)
    if "--no-sidecar" not in sys.argv[1:]:
        results["sidecar"] = sidecar(DB, real)
        _save(results)
    if "--no-delta" not in sys.argv[1:]:
        compare = "--compare-canonical" in sys.argv[1:]
        results["delta"] = scale_delta.measure(DB, model, WORK / "delta", compare)
        _save(results)
    print(json.dumps(results, indent=2))
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
