"""Voyager at scale: top-10 latency, recall, memory and build time at 10k, 100k and 1M vectors.

The index is built exactly as the database builds it (cosine, M=16, ef_construction=200, float32;
stash_sense.database.publish), from random unit vectors of 512 (FaceNet) and 128 (SFace)
dimensions, saved, then loaded in a fresh process as the reader does. Queries are stored vectors
plus noise (a face near one enrolled face), searched one at a time with the Matcher's query_ef.
Memory: the RSS the loaded index adds, and its file size.

    python -m bench.bench_voyager            # BENCH_QUICK=1: 10k only; BENCH_VOYAGER_MAX=100000

Writes bench/results/voyager.json.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from stash_sense.database.publish import INDEX_EF_CONSTRUCTION, INDEX_M

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "voyager.json"
QUICK = os.environ.get("BENCH_QUICK") == "1"
SIZES = (10_000, 100_000, 1_000_000)
DIMS = (128, 512)
QUERIES = 1000
TOP = 10
#: what Matcher asks for: query_ef = max(2k, 64), k = 50 candidates per embedder
MATCHER_K = 50


def rss_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    v = rng.standard_normal((n, dim), dtype=np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return v


def build(n: int, dim: int, path: Path) -> dict[str, Any]:
    """Build and save one index in this process; returns the build time."""
    from voyager import Index, Space, StorageDataType

    rng = np.random.default_rng(n + dim)
    index = Index(
        Space.Cosine,
        num_dimensions=dim,
        M=INDEX_M,
        ef_construction=INDEX_EF_CONSTRUCTION,
        storage_data_type=StorageDataType.Float32,
    )
    started = time.perf_counter()
    batch = 50_000
    for start in range(0, n, batch):
        count = min(batch, n - start)
        index.add_items(unit(rng, count, dim), list(range(start, start + count)))
    elapsed = time.perf_counter() - started
    index.save(str(path))
    return {"build_s": round(elapsed, 1), "inserts_per_s": round(n / elapsed)}


def search(n: int, dim: int, path: Path) -> dict[str, Any]:
    """Load the saved index and time single queries (run in a fresh process)."""
    from voyager import Index

    rng = np.random.default_rng(n + dim)
    # regenerate the first vectors to make queries near stored ones (same seed, same stream)
    source_ids = rng.choice(min(n, 50_000), size=QUERIES, replace=False)
    stored = unit(np.random.default_rng(n + dim), min(n, 50_000), dim)[source_ids]
    noise = unit(rng, QUERIES, dim) * 0.7
    queries = stored + noise
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    before = rss_bytes()
    started = time.perf_counter()
    index = Index.load(str(path))
    load_s = time.perf_counter() - started
    rss = rss_bytes() - before
    out: dict[str, Any] = {
        "load_s": round(load_s, 2),
        "rss_delta_mb": round(rss / 2**20, 1),
        "file_mb": round(path.stat().st_size / 2**20, 1),
    }
    for label, k, ef in (
        ("top10", TOP, max(2 * TOP, 64)),
        ("matcher_k50", MATCHER_K, 2 * MATCHER_K),
        ("matcher_k50_ef400", MATCHER_K, 400),  # what a larger query_ef would buy
    ):
        for q in queries[:20]:  # warm up
            index.query(q, k=k, query_ef=ef)
        times = []
        hits = 0
        for q, sid in zip(queries, source_ids, strict=True):
            t = time.perf_counter()
            ids, _ = index.query(q, k=k, query_ef=ef)
            times.append(time.perf_counter() - t)
            hits += int(sid in set(ids.tolist()))
        arr = np.asarray(times) * 1000
        out[label] = {
            "k": k,
            "query_ef": ef,
            "p50_ms": round(float(np.percentile(arr, 50)), 3),
            "p95_ms": round(float(np.percentile(arr, 95)), 3),
            "recall_of_source": round(hits / len(queries), 4),
        }
    return out


def one(n: int, dim: int, path: Path, stage: str) -> dict[str, Any]:
    """Run one stage in a subprocess (clean RSS figures) and return its JSON."""
    proc = subprocess.run(
        [sys.executable, "-m", "bench.bench_voyager", stage, str(n), str(dim), str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str]) -> int:
    if argv and argv[0] in ("build", "search"):
        n, dim, path = int(argv[1]), int(argv[2]), Path(argv[3])
        fn = build if argv[0] == "build" else search
        print(json.dumps(fn(n, dim, path)))
        return 0
    top = 10_000 if QUICK else int(os.environ.get("BENCH_VOYAGER_MAX", SIZES[-1]))
    results: dict[str, Any] = {
        "quick": QUICK,
        "index": {"space": "cosine", "M": INDEX_M, "ef_construction": INDEX_EF_CONSTRUCTION},
        "queries": QUERIES,
        "cpus": len(os.sched_getaffinity(0)),
        "load_average_at_start": os.getloadavg()[0],
        "complete": False,  # the file is rewritten after every size: a stopped run stays readable
        "runs": [],
    }
    with tempfile.TemporaryDirectory(prefix="bench-voyager-") as tmp:
        for n in (s for s in SIZES if s <= top):
            for dim in DIMS:
                path = Path(tmp) / f"{n}-{dim}.voy"
                row: dict[str, Any] = {"vectors": n, "dim": dim}
                row.update(one(n, dim, path, "build"))
                row.update(one(n, dim, path, "search"))
                path.unlink()
                results["runs"].append(row)
                results["complete"] = (n, dim) == (max(s for s in SIZES if s <= top), DIMS[-1])
                print(json.dumps(row), flush=True)
                RESULTS.parent.mkdir(parents=True, exist_ok=True)
                out = RESULTS.with_name("voyager-quick.json") if QUICK else RESULTS
                out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
