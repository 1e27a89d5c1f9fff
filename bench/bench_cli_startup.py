"""`stash-sense identify --db DB --json IMG`: wall time from process start to the answer.

A small database (10 LFW identities) is enrolled once with the real command; then the installed
`stash-sense` entry point is run several times on one photo, each a fresh process (Python start,
imports, model loading and sha256 checks, database open, detection, embedding, matching, JSON out).
Also: the CPU time (user + system) of each run, which a busy shared machine disturbs far less
than the wall time, and the same with `python -X importtime` summed per top-level package, to show
where time goes.

    python -m bench.bench_cli_startup         # BENCH_QUICK=1: 3 runs

Writes bench/results/cli_startup.json.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.evaldata import FACES, require_eval

ROOT = Path(__file__).resolve().parents[1]
EVAL = FACES
RESULTS = ROOT / "bench" / "results" / "cli_startup.json"
QUICK = os.environ.get("BENCH_QUICK") == "1"
TARGET_S = 2.0


def command() -> list[str]:
    script = Path(sys.executable).with_name("stash-sense")
    return [str(script)] if script.exists() else [sys.executable, "-m", "stash_sense.cli.app"]


def enrol(base: Path) -> Path:
    src = base / "src"
    people = sorted(p for p in (EVAL / "lfw-dev").iterdir() if p.is_dir())[:10]
    for person in people:
        (src / person.name).mkdir(parents=True)
        shutil.copy(person / "0.jpg", src / person.name / "0.jpg")
    db = base / "db"
    subprocess.run([*command(), "db", "enroll", "--db", str(db), str(src)], check=True)
    return db


def _children_cpu_s() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def run_once(db: Path, image: Path) -> tuple[float, float, dict[str, Any]]:
    """(wall seconds, CPU seconds, the JSON record) of one `identify` process."""
    cpu_before = _children_cpu_s()
    started = time.perf_counter()
    proc = subprocess.run(
        [*command(), "identify", "--db", str(db), "--json", str(image)],
        capture_output=True,
        text=True,
        check=True,
    )
    elapsed = time.perf_counter() - started
    cpu = _children_cpu_s() - cpu_before
    record: dict[str, Any] = json.loads(proc.stdout.splitlines()[0])
    return elapsed, cpu, record


def import_times(db: Path, image: Path) -> dict[str, float]:
    """Cumulative import time (ms) of outermost imports, by root package (-X importtime)."""
    proc = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-m",
            "stash_sense.cli.app",
            "identify",
            "--db",
            str(db),
            "--json",
            str(image),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    totals: dict[str, float] = {}
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        parts = line[len("import time:") :].split("|")
        if not parts[1].strip().isdigit():
            continue
        name = parts[2]
        if name.startswith("  "):
            continue  # only outermost imports (cumulative time includes their children)
        top = name.strip().split(".")[0]
        totals[top] = round(totals.get(top, 0.0) + int(parts[1]) / 1000, 1)
    return dict(sorted(totals.items(), key=lambda kv: -kv[1])[:12])


def main() -> int:
    require_eval()
    runs = 3 if QUICK else 9
    load = os.getloadavg()[0]  # the machine may be shared: say how busy it was
    image = EVAL / "lfw-dev" / sorted(p.name for p in (EVAL / "lfw-dev").iterdir())[0] / "1.jpg"
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        db = enrol(Path(tmp))
        run_once(db, image)  # the first run warms the file cache, as any real second use would
        times, cpu_times = [], []
        record: dict[str, Any] = {}
        for _ in range(runs):
            elapsed, cpu, record = run_once(db, image)
            times.append(elapsed)
            cpu_times.append(cpu)
        imports = import_times(db, image)
    top = record["faces"][0]["matches"][0] if record.get("faces") else None
    results = {
        "quick": QUICK,
        "command": "stash-sense identify --db DB --json IMG",
        "image": str(image.relative_to(EVAL.parents[1])),
        "database": "10 LFW identities enrolled with `stash-sense db enroll`",
        "runs": runs,
        "median_s": round(statistics.median(times), 3),
        "min_s": round(min(times), 3),
        "max_s": round(max(times), 3),
        "cpu_median_s": round(statistics.median(cpu_times), 3),
        "target_s": TARGET_S,
        "answer": {"name": top["name"], "tier": top["tier"]} if top else None,
        "import_ms_top_level": imports,
        "cpus": len(os.sched_getaffinity(0)),
        "load_average": load,
    }
    print(json.dumps(results, indent=2))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    out = RESULTS.with_name("cli_startup-quick.json") if QUICK else RESULTS
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
