"""The builder against the stash-box stand-in (uvicorn subprocess, 50 ms added to every request).

1. Throughput: the requests a second the build reaches, against what the rate limit allows
   ((n - 1) / rate: the bucket's first token is free), at StashDB's default of 2 req/s and at 10.
   Target >= 90%.
2. Memory: peak RSS (wait4's ru_maxrss) of `stash-sense build` over 10,000 performers (the
   stand-in repeats 50 identities' pictures under new names and URLs). Target < 1 GiB.
3. Resume: kill -9 the build at 10 random moments, resume each time, and compare the final
   database with a clean build of the same stand-in: performers, faces (vector digests),
   skips, and the manifest's per-source counts must be exactly equal.
4. Disturbed (issue 11): a build of N performers (BENCH_PERFORMERS, default 10,000; equal
   creation times in groups of 5, as the real server has them without a tie-breaker) during which
   the stand-in has a 60 s outage (503s and connection resets), 20 deletions, 10 merges and 50
   edits upstream, and the build is killed (kill -9) at 5 random moments; then one resume without
   the key (must stop with exit 2), then one more run with the key. The database must equal a clean
   build of the final upstream state, performer for performer and face for face; the comparison
   is printed. Peak RSS over all those runs is reported too.

    python -m bench.bench_build          # full (the 10,000 performers take a while)
    BENCH_QUICK=1 python -m bench.bench_build
    BENCH_PERFORMERS=1000 python -m bench.bench_build disturbed

Writes bench/results/build.json (build-quick.json in quick mode) and prints it.
"""

from __future__ import annotations

import json
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.evaldata import FACES, require_eval
from stash_sense_devkit.compare import committed_performers, read_contents
from stash_sense_devkit.standins.control import StandIn, make_faces_dir
from stash_sense_devkit.standins.launch import serve_in_subprocess

ROOT = Path(__file__).resolve().parents[1]
LFW_DEV = FACES / "lfw-dev"
WORK = ROOT / "bench" / "work" / "build"
QUICK = os.environ.get("BENCH_QUICK") == "1"
RESULTS = ROOT / "bench" / "results" / ("build-quick.json" if QUICK else "build.json")
LATENCY_MS = 50


def log(message: str) -> None:
    print(f"[bench_build] {message}", flush=True)


def write_config(path: Path, url: str, **fields: Any) -> Path:
    lines = ["[endpoints.bench]", f"url = {json.dumps(url)}"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in fields.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def build_cmd(db: Path, config: Path) -> list[str]:
    cli = [sys.executable, "-m", "stash_sense.cli.app"]
    return [*cli, "build", "--db", str(db), "--endpoint", "bench", "--config", str(config)]


LAST_CPU_S = [0.0]  # CPU seconds (user + system) of the last measured run


def run_measured(
    cmd: list[str], log_file: Path, env: dict[str, str] | None = None
) -> tuple[int, float, int]:
    """Run `cmd` to the end; (exit status, seconds, peak RSS in bytes) from wait4."""
    with log_file.open("wb") as out:
        started = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.monotonic() - started
    LAST_CPU_S[0] = usage.ru_utime + usage.ru_stime
    return proc.returncode, elapsed, int(usage.ru_maxrss) * 1024


def standin(faces: Path, *args: str) -> Any:
    return serve_in_subprocess(
        "stashbox",
        ["--faces", str(faces), "--latency-ms", str(LATENCY_MS), *args],
        log_file=WORK / "standin.log",
    )


def throughput(faces: Path, rate: float, performers: int) -> dict[str, Any]:
    """Build `performers` (2 images each) at `rate` req/s; requests a second reached."""
    db = WORK / f"throughput-{rate:g}"
    shutil.rmtree(db, ignore_errors=True)
    with standin(faces, "--performers", str(performers), "--images-per-performer", "2") as base:
        si = StandIn(base)
        config = write_config(WORK / "tp.toml", si.graphql_url, rate_limit=rate, concurrency=4)
        status, elapsed, _ = run_measured(build_cmd(db, config), WORK / f"tp-{rate:g}.log")
        stats = si.stats()
    if status != 0:
        raise RuntimeError(f"throughput build failed ({status}); see {WORK}/tp-{rate:g}.log")
    served = int(stats["counts"].get("request", 0))
    span = float(stats["span_s"])
    allowed = (served - 1) / rate  # the shortest span the bucket permits for these requests
    return {
        "rate_limit_req_s": rate,
        "latency_ms": LATENCY_MS,
        "performers": performers,
        "requests": served,
        "requests_span_s": round(span, 2),
        "achieved_req_s": round((served - 1) / span, 3) if span else None,
        "efficiency": round(allowed / span, 4) if span else None,
        "build_wall_s": round(elapsed, 1),
        "build_cpu_s": round(LAST_CPU_S[0], 1),
        # what this machine can embed at most: cores / CPU seconds per image (pages are cheap);
        # where the rate limit is above it, the build is CPU-bound, not held back by the pipeline
        "cpu_bound_req_s": round((os.cpu_count() or 1) * served / LAST_CPU_S[0], 2),
        "throttled_429": int(stats["counts"].get("429", 0)),
    }


def memory(faces: Path, performers: int) -> dict[str, Any]:
    """Peak RSS of a build of `performers` (one image each), as fast as the machine embeds."""
    db = WORK / "memory"
    shutil.rmtree(db, ignore_errors=True)
    with standin(faces, "--performers", str(performers), "--images-per-performer", "1") as base:
        si = StandIn(base)
        config = write_config(WORK / "mem.toml", si.graphql_url, rate_limit=500, concurrency=8)
        status, elapsed, peak = run_measured(build_cmd(db, config), WORK / "memory.log")
    if status != 0:
        raise RuntimeError(f"memory build failed ({status}); see {WORK}/memory.log")
    manifest = json.loads((db / "current" / "manifest.json").read_text())
    return {
        "performers": performers,
        "faces": manifest["counts"]["faces"],
        "peak_rss_mib": round(peak / 2**20, 1),
        "target_mib": 1024,
        "wall_s": round(elapsed, 1),
        "cpu_s": round(LAST_CPU_S[0], 1),
        "performers_per_s": round(performers / elapsed, 2),
        "database_bytes": sum(p.stat().st_size for p in (db / "current").resolve().iterdir()),
    }


def kill_after_commit(cmd: list[str], db: Path, goal: int, delay_s: float) -> dict[str, Any]:
    """Start a build; once `goal` performers are committed wait `delay_s` more (a random point
    of the pipeline: downloads, embedding, a commit), then SIGKILL it if it still runs."""
    before = committed_performers(db)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started = time.monotonic()
    while proc.poll() is None and committed_performers(db) < goal:
        time.sleep(0.05)
    try:
        proc.wait(timeout=delay_s)
        killed = False
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        killed = True
    return {
        "committed_before": before,
        "goal": goal,
        "extra_delay_s": round(delay_s, 2),
        "killed_after_s": round(time.monotonic() - started, 2) if killed else None,
        "committed_after": committed_performers(db),
    }


def resume(faces: Path, performers: int, kills: int, seed: int) -> dict[str, Any]:
    """A clean build, then one killed `kills` times at random points and resumed."""
    rng = random.Random(seed)
    clean_db, killed_db = WORK / "clean", WORK / "killed"
    for d in (clean_db, killed_db):
        shutil.rmtree(d, ignore_errors=True)
    moments = []
    with standin(faces, "--performers", str(performers), "--images-per-performer", "2") as base:
        si = StandIn(base)
        config = write_config(WORK / "resume.toml", si.graphql_url, rate_limit=40, page_size=10)
        status, clean_s, _ = run_measured(build_cmd(clean_db, config), WORK / "clean.log")
        if status != 0:
            raise RuntimeError(f"clean build failed ({status}); see {WORK}/clean.log")
        cmd = build_cmd(killed_db, config)
        # goals in the first three quarters, so that every kill lands before the pass ends
        for goal in sorted(rng.sample(range(performers * 3 // 4), kills)):
            before = committed_performers(killed_db)
            moments.append(kill_after_commit(cmd, killed_db, max(goal, before), rng.uniform(0, 1)))
        status, _, _ = run_measured(cmd, WORK / "resumed.log")
        if status != 0:
            raise RuntimeError(f"resumed build failed ({status}); see {WORK}/resumed.log")
    clean, resumed = read_contents(clean_db), read_contents(killed_db)
    stats = [
        json.loads((d / "current" / "manifest.json").read_text())["sources"]["bench"]
        for d in (clean_db, killed_db)
    ]
    keys = ("performers_seen", "with_faces", "faces", "images_seen", "skipped")
    return {
        "performers": performers,
        "seed": seed,
        "clean_build_s": round(clean_s, 1),
        "kills": moments,
        "killed_mid_build": sum(m["killed_after_s"] is not None for m in moments),
        "performers_clean": len({p[1] for p in clean.performers}),
        "faces_clean": len(clean.faces),
        "skipped_clean": len(clean.skipped),
        "performers_equal": resumed.performers == clean.performers,
        "faces_equal": resumed.faces == clean.faces,
        "skipped_equal": resumed.skipped == clean.skipped,
        "source_stats_equal": all(stats[0][k] == stats[1][k] for k in keys),
        "differences": resumed.differences(clean),
    }


def start(cmd: list[str], env: dict[str, str], log_file: Path) -> subprocess.Popen[bytes]:
    out = log_file.open("ab")
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    out.close()
    return proc


def reap(proc: subprocess.Popen[bytes], peak: list[int]) -> int:
    """Wait for `proc`; its exit status; keeps the largest peak RSS seen in `peak[0]`."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    peak[0] = max(peak[0], int(usage.ru_maxrss) * 1024)
    return proc.returncode


def upstream_edits(si: StandIn, rng: random.Random, kind: str, n: int) -> list[str]:
    """`n` deletions, merges or renames of random live performers, as stash-box edits."""
    done = []
    for _ in range(n):
        live = si.stats()["ids"]
        if kind == "destroy":
            pid = rng.choice(live)
            si.edit("destroy", id=pid)
        elif kind == "merge":
            source, target = rng.sample(live, 2)
            si.edit("merge", sources=[source], target=target)
            pid = f"{source}>{target}"
        else:
            pid = rng.choice(live)
            si.edit("update", id=pid, set={"name": f"Edited {rng.randrange(10**6)}"})
        done.append(pid)
    return done


def disturbed(faces: Path, performers: int, seed: int) -> dict[str, Any]:
    """The disturbed build of issue 11 (see the module docstring) against a clean build."""
    rng = random.Random(seed)
    key = "bench-key-5d1c"
    db, clean_db = WORK / "disturbed", WORK / "disturbed-clean"
    for d in (db, clean_db):
        shutil.rmtree(d, ignore_errors=True)
    log_file = WORK / "disturbed.log"
    log_file.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("STASH_SENSE_")}
    keyed = {**env, "STASH_SENSE_BENCH_API_KEY": key}
    args = ["--performers", str(performers), "--images-per-performer", "1", "--equal-created", "5"]
    peak = [0]
    timeline: list[dict[str, Any]] = []
    started = time.monotonic()
    with standin(faces, *args, "--api-key", key) as base:
        si = StandIn(base)
        config = write_config(WORK / "disturbed.toml", si.graphql_url, rate_limit=40)
        cmd = build_cmd(db, config)
        # what happens, at which number of committed performers (all in the first 3/4)
        events: list[tuple[int, str, int]] = [
            (g, "kill", 0) for g in rng.sample(range(performers // 20, performers * 3 // 4), 5)
        ]
        events.append((rng.randrange(performers // 10, performers // 2), "outage", 60))
        for kind, total in (("destroy", 20), ("merge", 10), ("update", 50)):
            for part in range(5):
                goal = rng.randrange(performers // 20, performers * 3 // 4)
                events.append((goal, kind, total // 5 + (part < total % 5)))
        events.sort()
        proc = start(cmd, keyed, log_file)
        kills = 0
        for goal, action, n in events:
            while proc.poll() is None and committed_performers(db) < goal:
                time.sleep(0.1)
            if proc.poll() is not None:  # it finished (or stopped): go on from where it is
                timeline.append({"run_ended": reap(proc, peak), "at": committed_performers(db)})
                proc = start(cmd, keyed, log_file)
            at = committed_performers(db)
            if action == "kill":
                os.kill(proc.pid, signal.SIGKILL)
                reap(proc, peak)
                kills += 1
                timeline.append({"kill_9_at": at})
                if kills == 5:  # a new shell on day 2, without the key
                    keyless = start(cmd, env, log_file)
                    status = reap(keyless, peak)
                    timeline.append({"resume_without_key_exit": status, "at": at})
                proc = start(cmd, keyed, log_file)
                time.sleep(rng.uniform(2.0, 8.0))  # the next event is not the restart's moment
            elif action == "outage":
                si.configure(outage_s=n, outage_kind=rng.choice(["503", "reset"]))
                timeline.append({"outage_s": n, "at": at})
            else:
                timeline.append({action: len(upstream_edits(si, rng, action, n)), "at": at})
        final = reap(proc, peak)
        timeline.append({"run_ended": final, "at": committed_performers(db)})
        last = start(cmd, keyed, log_file)  # "then one more run with the key"
        last_status = reap(last, peak)
        disturbed_s = time.monotonic() - started
        clean_status, clean_s, clean_peak = run_measured(
            build_cmd(clean_db, config), WORK / "disturbed-clean.log", keyed
        )
        upstream = si.stats()
    if clean_status != 0:
        raise RuntimeError(f"clean build failed ({clean_status}); see {WORK}/disturbed-clean.log")
    mine, theirs = read_contents(db), read_contents(clean_db)
    stats = json.loads((db / "current" / "manifest.json").read_text())["sources"]["bench"]
    keyless_exits = [
        t["resume_without_key_exit"] for t in timeline if "resume_without_key_exit" in t
    ]
    return {
        "performers": performers,
        "seed": seed,
        "timeline": timeline,
        "resume_without_key_exit": keyless_exits,
        "last_run_exit": last_status,
        "disturbed_wall_s": round(disturbed_s, 1),
        "clean_build_s": round(clean_s, 1),
        "peak_rss_mib": round(max(peak[0], clean_peak) / 2**20, 1),
        "upstream_live_performers": upstream["performers"],
        "upstream_outage_requests": upstream["counts"].get("outage", 0),
        "performers_here": len({p[1] for p in mine.performers}),
        "performers_clean": len({p[1] for p in theirs.performers}),
        "faces_here": len(mine.faces),
        "faces_clean": len(theirs.faces),
        "performers_equal": mine.performers == theirs.performers,
        "faces_equal": mine.faces == theirs.faces,
        "skipped_equal": mine.skipped == theirs.skipped,
        "differences": mine.differences(theirs),
        "stats": {
            k: stats[k] for k in ("performers_seen", "faces", "deleted", "merged", "pending")
        },
    }


PARTS = ("throughput", "memory", "resume", "disturbed")


def main(argv: list[str]) -> int:
    parts = argv or list(PARTS)
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        print(f"unknown part(s) {unknown}; choose from {PARTS}", file=sys.stderr)
        return 2
    require_eval()
    if not LFW_DEV.is_dir():
        print(f"evaluation faces missing: {LFW_DEV}", file=sys.stderr)
        return 2
    WORK.mkdir(parents=True, exist_ok=True)
    faces = WORK / "faces"
    if not faces.is_dir():
        names = sorted(p.name for p in LFW_DEV.iterdir() if p.is_dir())[:50]
        make_faces_dir(LFW_DEV, faces, names, images=2)
    seed = int(os.environ.get("BENCH_SEED", "20261125"))
    results: dict[str, Any] = {
        "benchmark": "build",
        "quick": QUICK,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    prefix = "BENCH_QUICK=1 " if QUICK else ""
    commands: dict[str, str] = {}
    if "throughput" in parts:
        commands["throughput"] = prefix + "python -m bench.bench_build throughput"
        results["throughput"] = []
        for rate, performers in [(2.0, 12 if QUICK else 40), (10.0, 40 if QUICK else 150)]:
            log(f"throughput at {rate:g} req/s over {performers} performers")
            results["throughput"].append(throughput(faces, rate, performers))
            log(json.dumps(results["throughput"][-1]))
    if "memory" in parts:
        commands["memory"] = prefix + "python -m bench.bench_build memory"
        performers = 500 if QUICK else 10_000
        log(f"memory over {performers} performers")
        results["memory"] = memory(faces, performers)
        log(json.dumps(results["memory"]))
    if "resume" in parts:
        commands["resume"] = prefix + "python -m bench.bench_build resume"
        log("kill -9 and resume")
        results["resume"] = resume(faces, 30 if QUICK else 80, 3 if QUICK else 10, seed)
        log(json.dumps({k: v for k, v in results["resume"].items() if k != "kills"}))
    if "disturbed" in parts:
        performers = int(os.environ.get("BENCH_PERFORMERS", 300 if QUICK else 10_000))
        commands["disturbed"] = (
            f"BENCH_PERFORMERS={performers} python -m bench.bench_build disturbed"
        )
        log(f"disturbed build over {performers} performers")
        results["disturbed"] = d = disturbed(faces, performers, seed)
        log(json.dumps({k: v for k, v in d.items() if k != "timeline"}))
        print(
            f"disturbed build vs clean build of the final upstream state: performers "
            f"{d['performers_here']} vs {d['performers_clean']} (equal: {d['performers_equal']}), "
            f"faces {d['faces_here']} vs {d['faces_clean']} (equal: {d['faces_equal']}), "
            f"differences {d['differences'] or 'none'}",
            flush=True,
        )
    if RESULTS.exists():  # parts run separately (the long memory run) share one file
        earlier = json.loads(RESULTS.read_text())
        commands = {**earlier.get("commands", {}), **commands}
        results = {**earlier, **results}
    results["commands"] = commands
    results["targets"] = targets(results)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))
    return 0


def targets(results: dict[str, Any]) -> dict[str, Any]:
    """Each target and whether the figures measured so far meet it."""
    out: dict[str, Any] = {}
    for t in results.get("throughput", []):
        out[f"throughput_at_{t['rate_limit_req_s']:g}_req_s_>=90%"] = (t["efficiency"] or 0) >= 0.9
    if "memory" in results:
        out["peak_rss_<1GiB"] = results["memory"]["peak_rss_mib"] < 1024
    if "resume" in results:
        r = results["resume"]
        out["resume_equals_clean"] = not r["differences"] and r["source_stats_equal"]
    if "disturbed" in results:
        d = results["disturbed"]
        out["disturbed_equals_clean"] = not d["differences"] and d["last_run_exit"] == 0
        out["resume_without_key_exits_2"] = d["resume_without_key_exit"] == [2]
        out["disturbed_peak_rss_<1GiB"] = d["peak_rss_mib"] < 1024
    return out


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
