"""The identity graph built through the stand-ins, downloads included: four stash-box stand-ins
(StashDB, FansDB, PMVStash, JAVStash flavours: the real stash-box schema, JAVStash's names in
Japanese script) and the ThePornDB stand-in (its REST shape, Bearer token, links to StashDB), each
serving N performers drawn from LFW people (one photo each; each stash-box lists its own random
share of the people, so sources overlap partly; ThePornDB lists a share of StashDB's people, each
linked to StashDB's performer as the stand-in does), rate-limited as configured below.

1. `stash-sense build --endpoint E --no-graph` for each endpoint: the download and the faces
   (wall and CPU seconds of the process, from wait4).
2. `stash-sense db graph build --full`: the link beyond the download (wall and CPU seconds of the
   process, and the link's own seconds as the build reports them).
3. StashDB is edited upstream (1% of its performers: half gain an alias, a quarter lose their
   profile URL, a quarter are renamed; 0.2% new performers; one deleted), rebuilt
   (`build --endpoint stashdb --no-graph`), and the graph relinked incrementally
   (`db graph build`): records changed / weighed again, seconds; then a full link of the same
   database is compared with it (the same identities, checked and said in the result).

    python -m bench.bench_graph_build N      # N performers per endpoint; 10000 is the target size
                                             # writes bench/results/graph-build-<N>.json
"""

from __future__ import annotations

import json
import os
import random
import secrets
import shutil
import sqlite3
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

from bench.bench_build import LAST_CPU_S, run_measured
from bench.evaldata import FACES, require_eval
from stash_sense_devkit.standins.control import StandIn, make_faces_dir
from stash_sense_devkit.standins.launch import serve_in_subprocess

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / "work" / "graph-build"
POOLS = ("lfw-dev", "lfw-dev-extra")
SHARE = 0.7  # each endpoint lists this share of the people pool (then repeats them up to N)
RATE_LIMIT = 50.0  # requests a second per host, set in the endpoints file as a user sets it
#: name, stand-in kind, flavour (stash-boxes), the endpoint string Stash records
ENDPOINTS = [
    ("stashdb", "stashbox", "stashdb", "https://stashdb.org/graphql"),
    ("fansdb", "stashbox", "fansdb", "https://fansdb.cc/graphql"),
    ("pmvstash", "stashbox", "pmvstash", "https://pmvstash.org/graphql"),
    ("javstash", "stashbox", "javstash", "https://javstash.org/graphql"),
    ("tpdb", "tpdb", "", "https://theporndb.net/graphql"),
]


def log(message: str) -> None:
    print(f"[bench_graph_build] {message}", flush=True)


def cli(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "stash_sense.cli.app", *map(str, args)]


def measured(name: str, cmd: list[str]) -> dict[str, Any]:
    """Run a stash-sense command to the end; its wall and CPU seconds and peak RSS."""
    status, wall, rss = run_measured(cmd, WORK / f"{name}.log")
    if status != 0:
        raise RuntimeError(f"{name} failed ({status}); see {WORK / f'{name}.log'}")
    out = {"wall_s": round(wall, 1), "cpu_s": round(LAST_CPU_S[0], 1), "peak_rss_mib": rss >> 20}
    log(f"{name}: {out}")
    return out


def faces_per_endpoint(n: int) -> dict[str, Path]:
    """Each endpoint's folder of people (one photo each): its own random share of the pool."""
    people = sorted(p for pool in POOLS for p in (FACES / pool).iterdir() if p.is_dir())
    rng = random.Random(22)
    out = {}
    for name, *_ in ENDPOINTS:
        if name == "tpdb":  # links every performer to StashDB's: a share of StashDB's people
            stashdb = sorted((WORK / "faces" / "stashdb").iterdir())
            chosen = rng.sample(stashdb, int(len(stashdb) * SHARE))
        else:
            chosen = rng.sample(people, min(n, int(len(people) * SHARE)))
        dest = WORK / "faces" / name
        for person in chosen:
            make_faces_dir(person.parent, dest, [person.name], images=1)
        out[name] = dest
    return out


def served(n: int, faces: dict[str, Path], name: str) -> int:
    """Performers an endpoint serves: N, ThePornDB its share of N (so that each of its
    performers, folders repeated as StashDB repeats them, has the StashDB performer it links)."""
    if name != "tpdb":
        return n
    count = len(list(faces["tpdb"].iterdir()))
    return n * count // len(list(faces["stashdb"].iterdir()))


def write_config(urls: dict[str, str]) -> Path:
    lines = []
    for name, kind, _, stash_endpoint in ENDPOINTS:
        lines += [
            f"[endpoints.{name}]",
            f"url = {json.dumps(urls[name])}",
            f'kind = "{"tpdb" if kind == "tpdb" else "stash-box"}"',
            f"stash_endpoint = {json.dumps(stash_endpoint)}",
            f"rate_limit = {RATE_LIMIT}",
            "",
        ]
    path = WORK / "endpoints.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def edit_stashdb(box: StandIn, faces: Path, key: str) -> dict[str, int]:
    """1% of StashDB's performers edited upstream (see the module docstring), 0.2% created."""
    query = "query($i: PerformerQueryInput!) { queryPerformers(input: $i) { performers { id } } }"
    variables = {"i": {"page": 1, "per_page": 100_000, "sort": "CREATED_AT", "direction": "ASC"}}
    body = httpx.post(
        box.graphql_url,
        json={"query": query, "variables": variables},
        headers={"ApiKey": key},
        timeout=60,
    )
    ids = [p["id"] for p in body.json()["data"]["queryPerformers"]["performers"]]
    rng = random.Random(7)
    picked = rng.sample(ids, max(4, len(ids) // 100) + 1)
    deleted, picked = picked[0], picked[1:]
    q = len(picked) // 4
    for pid in picked[: 2 * q]:
        box.edit("update", id=pid, set={"aliases": [f"Alias {pid[:6]}"]})
    for pid in picked[2 * q : 3 * q]:
        box.edit("update", id=pid, set={"urls": []})
    for pid in picked[3 * q :]:
        box.edit("update", id=pid, set={"name": f"Renamed {pid[:8]}"})
    box.edit("destroy", id=deleted)
    folders = sorted(p.name for p in faces.iterdir())
    created = max(1, len(ids) // 500)
    for k in range(created):
        box.edit("create", name=f"Newcomer {k}", folder=folders[k % len(folders)])
    return {
        "aliases_added": 2 * q,
        "urls_removed": q,
        "renamed": len(picked) - 3 * q,
        "deleted": 1,
        "created": created,
    }


def partition(graph_file: Path) -> set[frozenset[str]]:
    groups: dict[str, set[str]] = {}
    with sqlite3.connect(graph_file) as conn:
        for key, ident in conn.execute("SELECT key, identity FROM records"):
            groups.setdefault(str(ident), set()).add(str(key))
    return {frozenset(g) for g in groups.values()}


def graph_json(name: str) -> dict[str, Any]:
    text = (WORK / f"{name}.log").read_text(encoding="utf-8")
    return json.loads(text[text.index("{") :])


def main(n: int) -> int:
    require_eval()
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    load = [round(x, 1) for x in os.getloadavg()]
    faces = faces_per_endpoint(n)
    key = secrets.token_urlsafe(16)  # every stand-in asks it; never on a command line
    os.environ["STASH_SENSE_DEV_API_KEY"] = key
    for name, *_ in ENDPOINTS:
        os.environ[f"STASH_SENSE_{name.upper()}_API_KEY"] = key
    db = WORK / "db"
    result: dict[str, Any] = {
        "command": f"python -m bench.bench_graph_build {n}",
        "performers_per_endpoint": n,
        "people_per_endpoint": {k: len(list(v.iterdir())) for k, v in faces.items()},
        "performers_served": {name: served(n, faces, name) for name, *_ in ENDPOINTS},
        "rate_limit_req_s": RATE_LIMIT,
        "load_average_start": load,
        "download": {},
    }
    with ExitStack() as stack:
        urls, boxes = {}, {}
        for name, kind, flavour, _ in ENDPOINTS:
            args = ["--faces", str(faces[name]), "--performers", str(served(n, faces, name))]
            args += ["--flavour", flavour] if flavour else []
            base = stack.enter_context(
                serve_in_subprocess(kind, args, log_file=WORK / f"standin-{name}.log")
            )
            boxes[name] = StandIn(base)
            urls[name] = boxes[name].graphql_url if kind == "stashbox" else base
        config = write_config(urls)
        for name, *_ in ENDPOINTS:
            build = cli("build", "--db", db, "--config", config, "--endpoint", name, "--no-graph")
            result["download"][name] = measured(f"build-{name}", build)
        result["full_link"] = measured(
            "graph-full", cli("db", "graph", "build", "--db", db, "--full", "--json")
        )
        first = graph_json("graph-full")
        result["full_link"] |= {
            k: first[k] for k in ("records", "identities", "multi_source", "links", "link_seconds")
        }
        result["edits"] = edit_stashdb(boxes["stashdb"], faces["stashdb"], key)
        build = cli("build", "--db", db, "--config", config, "--endpoint", "stashdb", "--no-graph")
        result["stashdb_rebuild"] = measured("rebuild-stashdb", build)
    result["relink"] = measured("graph-relink", cli("db", "graph", "build", "--db", db, "--json"))
    inc = graph_json("graph-relink")
    result["relink"] |= {k: inc[k] for k in ("mode", "relinked", "changes", "link_seconds")}
    copy = WORK / "db-full"
    shutil.copytree(db, copy, symlinks=True)
    result["full_link_after"] = measured(
        "graph-full-after", cli("db", "graph", "build", "--db", copy, "--full", "--json")
    )
    result["full_link_after"]["link_seconds"] = graph_json("graph-full-after")["link_seconds"]
    result["relink"]["same_identities_as_a_full_link"] = partition(
        db / "graph.sqlite"
    ) == partition(copy / "graph.sqlite")
    result["load_average_end"] = [round(x, 1) for x in os.getloadavg()]
    result["note"] = (
        "2 CPU cores; wall and CPU seconds of each stash-sense process (wait4); the machine is "
        "shared with other work unless the load averages say otherwise"
    )
    out = ROOT / "bench" / "results" / f"graph-build-{n}.json"
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2 or not sys.argv[1].isdigit():
        sys.exit("usage: python -m bench.bench_graph_build N   (performers per endpoint)")
    sys.exit(main(int(sys.argv[1])))
