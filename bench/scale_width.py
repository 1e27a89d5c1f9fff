"""Search width study at the anchor size: how wide each index is searched vs recall and latency.

Runs bench_scale's search stage (matcher vs exact search over the same vectors, tuning half
lfw-dev / held-out half lfw-dev-extra) once per setting, on the database bench_scale built
(bench/work/scale/db). A setting is `EF` (both embedders) or `EF:K` (K candidates an embedder)
or `SFACE_EF:SFACE_K:DLIB_EF:DLIB_K`. The width is chosen on the tuning half; the held-out half
is only reported.

    python -m bench.bench_scale && python -m bench.scale_width 400 800 1600 6400 1600:200

Writes bench/results/scale-width.json (settings already there are kept).
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

import numpy as np

from bench import bench_scale
from bench.scale_world import FaceModel, build, load_real
from stash_sense.database import FaceDatabase
from stash_sense.matching import matcher as matcher_module

RESULTS = bench_scale.ROOT / "bench" / "results" / "scale-width.json"


def _setting(spec: str) -> dict[str, tuple[int, int]]:
    parts = [int(p) for p in spec.split(":")]
    if len(parts) == 1:
        parts += [50]
    if len(parts) == 2:
        parts += parts
    if len(parts) != 4:
        sys.exit(f"not a setting: {spec!r} (EF, EF:K or SFACE_EF:SFACE_K:DLIB_EF:DLIB_K)")
    return {"sface": (parts[0], parts[1]), "dlib": (parts[2], parts[3])}


def main() -> int:
    real = load_real()
    meta = build(bench_scale.DB, real, FaceModel.fit(real))  # cached: no rebuild
    out: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    with FaceDatabase.open(bench_scale.DB) as db:
        names = {id(db.index(n)): n for n in db.embedder_names}
        for spec in sys.argv[1:]:
            setting = _setting(spec)

            def candidates(index: Any, queries: Any, k: int, s: Any = setting) -> set[int]:
                ef, kk = s[names[id(index)]]
                ids, _ = index.query(queries, k=min(kk, index.num_elements), query_ef=ef)
                return {int(i) for i in np.asarray(ids).reshape(-1)}

            matcher_module.candidates = candidates
            t0 = time.perf_counter()
            found = bench_scale.search(db, real, meta, db.manifest.fusion)
            found["seconds"] = round(time.perf_counter() - t0, 1)
            found["load_average_1m"] = round(os.getloadavg()[0], 2)
            out.setdefault("settings", {})[spec] = found
            print(spec, "tuning", found["tuning"]["rank1"], "held out", found["held_out"]["rank1"],
                  found["latency_ms"], flush=True)  # fmt: skip
            RESULTS.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
