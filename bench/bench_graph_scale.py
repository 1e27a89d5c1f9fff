"""Linking time of the identity graph at scale, and the cost of an incremental relink after a
rebuild of one endpoint, on a synthetic world of N people under the five endpoints (random face
vectors of the default ensemble's sizes, names drawn from syllables; no face model, no download).

    python -m bench.bench_graph_scale N     # writes bench/results/graph-scale-<N>.json

1. A full link of every record but a held-back 1% of ThePornDB's (wall and CPU seconds).
2. That graph is stored, then ThePornDB is "rebuilt": the held-back records arrive and another
   1% of its records gain an alias; the incremental relink weighs only those and their
   candidates (records touched, pairs, wall and CPU seconds), and gives the same identities as
   a full link of the same records (checked, and said in the result).
"""

from __future__ import annotations

import json
import os
import random
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from bench.graph_faces import EMBEDDERS
from stash_sense.database.calibrated import measured
from stash_sense.graph import Rules, link_records
from stash_sense.graph.build import save
from stash_sense.graph.model import DEFAULT_PRECEDENCE, THEPORNDB
from stash_sense.graph.relink import relink
from stash_sense.graph.store import open_graph
from stash_sense_devkit.graph_world import Person, build_world

ROOT = Path(__file__).resolve().parents[1]
FUSION = {k: float(v) for k, v in measured()["fusion"].items()}
SYLLABLES = ["ka", "ri", "na", "to", "mi", "lo", "ve", "sa", "de", "ro", "ja", "ne", "el"]


def synthetic_people(n: int) -> list[Person]:
    rng = np.random.default_rng(0)
    people = []
    for i in range(n):
        name = " ".join(
            "".join(rng.choice(SYLLABLES, size=int(rng.integers(2, 4)))).title() for _ in range(2)
        )
        faces = {}
        for k in EMBEDDERS:
            v = rng.normal(size=128) + 0.35 * rng.normal(size=(3, 128))
            faces[k] = (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)
        people.append(Person(f"p{i}", name, faces))
    return people


def timed(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn(*args, **kwargs)
    return out, round(time.perf_counter() - wall, 1), round(time.process_time() - cpu, 1)


def partition(identity_of: dict[str, str]) -> set[frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for key, ident in identity_of.items():
        groups.setdefault(ident, set()).add(key)
    return {frozenset(g) for g in groups.values()}


def main(n: int) -> int:
    world = build_world(synthetic_people(n), seed=3)
    rng = random.Random(5)
    tpdb = [i for i, r in enumerate(world.records) if r.endpoint == THEPORNDB]
    picked = rng.sample(tpdb, max(2, len(tpdb) // 50))
    late, edited = set(picked[::2]), set(picked[1::2])
    before = [r for i, r in enumerate(world.records) if i not in late]
    after = [
        replace(r, aliases=[*r.aliases, f"{r.name} X"]) if i in edited else r
        for i, r in enumerate(world.records)
    ]
    rules = Rules()
    graph, full_wall, full_cpu = timed(link_records, before, fusion=FUSION, rules=rules)
    with tempfile.TemporaryDirectory() as tmp:
        graph_file = Path(tmp) / "graph.sqlite"
        save(graph_file, graph)
        conn = open_graph(graph_file)
        try:
            again, inc_wall, inc_cpu = timed(
                relink,
                conn,
                after,
                fusion=FUSION,
                rules=rules,
                decisions={},
                precedence=DEFAULT_PRECEDENCE,
            )
        finally:
            conn.close()
    whole, whole_wall, whole_cpu = timed(link_records, after, fusion=FUSION, rules=rules)
    result = {
        "command": f"python -m bench.bench_graph_scale {n}",
        "note": "shared 2-core machine under load (see load_average); wall and CPU seconds of "
        "linking only (no download, no face model)",
        "load_average": [round(x, 1) for x in os.getloadavg()],
        "people": n,
        "records": len(after),
        "faces": sum(r.face_count for r in after),
        "full_link": {"records": len(before), "wall_s": full_wall, "cpu_s": full_cpu},
        "theporndb_rebuild": {
            "records_of_theporndb": len(tpdb),
            "arrived": len(late),
            "edited": len(edited),
            "changed": again.changed,
            "records_touched": again.touched,
            "pairs_weighed": again.pairs,
            "links_kept": again.kept_links,
            "wall_s": inc_wall,
            "cpu_s": inc_cpu,
            "same_identities_as_a_full_link": partition(again.graph.identity_of())
            == partition(whole.identity_of()),
        },
        "full_link_after": {"wall_s": whole_wall, "cpu_s": whole_cpu},
    }
    out = ROOT / "bench" / "results" / f"graph-scale-{n}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2 or not sys.argv[1].isdigit():
        sys.exit("usage: python -m bench.bench_graph_scale N")
    sys.exit(main(int(sys.argv[1])))
