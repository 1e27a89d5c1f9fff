"""The evaluation protocol run the way a user runs it: `stash-sense db enroll`, then
`stash-sense identify --json`, the first (largest) face of each answer taken as the query.

bench_accuracy measures the engine on cached vectors (one face per photo chosen by the study's
rule, no quality gate); this benchmark goes through the command line end to end, so what it adds
is everything around the engine: which face `db enroll` keeps for a performer and which it skips,
detection and ordering of the query's faces, the cascade, Voyager, the manifest's tiers. It is
the measurement issue 15 describes for the hidden sets, on the dev protocol of
../shared/eval/README.md: 0.jpg of each lfw-dev identity plus the 300 one-photo distractors
enrolled (450 performers); queries the other lfw-dev photos (plain) and their hard copies.

    python -m bench.bench_cli_protocol       # about 3 minutes on 2 cores

Writes bench/results/cli-protocol.json.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.evaldata import FACES, enrolment_folder, require_eval
from stash_sense.matching.tiers import TIER_NAMES

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "cli-protocol.json"
CLI = [sys.executable, "-m", "stash_sense.cli.app"]


def dev_protocol_identities() -> list[Path]:
    """Every lfw-dev identity and every one-photo distractor: the 450 performers enrolled."""
    return [
        p
        for name in ("lfw-dev", "lfw-dev-distractors")
        for p in sorted((FACES / name).iterdir())
        if p.is_dir()
    ]


def queries(part: str) -> list[Path]:
    folder = FACES / ("lfw-dev" if part == "plain" else "lfw-dev-hard-queries")
    return sorted(p for p in folder.glob("*/*.jpg") if p.name != "0.jpg")


def score(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Rank-1 over every query (a photo without a face counts as wrong) and each tier's share
    and precision for the first face's top match."""
    tiers: dict[str, list[int]] = {t: [0, 0] for t in TIER_NAMES}
    right = no_face = 0
    for record in records:
        truth = Path(record["image"]).parent.name.replace("_", " ")
        faces = record.get("faces") or []
        matches = faces[0]["matches"] if faces else []
        if not matches:
            no_face += 1
            continue
        ok = matches[0]["name"] == truth
        right += ok
        tiers[matches[0]["tier"]][0] += 1
        tiers[matches[0]["tier"]][1] += ok
    n = len(records)
    return {
        "queries": n,
        "no_face": no_face,
        "rank1": round(right / n, 4),
        "tiers": {
            t: {
                "share": round(q / n, 4),
                "precision": round(r / q, 4) if q else None,
                "wrong": q - r,
            }
            for t, (q, r) in tiers.items()
        },
    }


def main() -> int:
    require_eval()
    started = time.perf_counter()
    out: dict[str, Any] = {"command": "python -m bench.bench_cli_protocol"}
    with tempfile.TemporaryDirectory(prefix="bench-cli-protocol-") as tmp:
        src, db = Path(tmp) / "src", Path(tmp) / "db"
        out["performers"] = enrolment_folder(src, dev_protocol_identities())
        enrol = subprocess.run(
            [*CLI, "db", "enroll", "--db", str(db), str(src)], capture_output=True, text=True
        )
        if enrol.returncode != 0:
            print(enrol.stderr, file=sys.stderr)
            return 1
        manifest = json.loads((db / "current" / "manifest.json").read_text())
        out["enrolled"] = {
            "faces": manifest["counts"]["faces"],
            "skipped": manifest["sources"]["enroll"]["skipped"],
            "models": sorted(manifest["models"]),
        }
        for part in ("plain", "hard"):
            images = [str(p) for p in queries(part)]
            proc = subprocess.run(
                [*CLI, "identify", "--db", str(db), "--json", "--top", "2", *images],
                capture_output=True,
                text=True,
            )
            records = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
            if len(records) != len(images):
                print(proc.stderr, file=sys.stderr)
                return 1
            out[part] = score(records)
            print(f"{part}: {json.dumps(out[part])}", flush=True)
    out["elapsed_s"] = round(time.perf_counter() - started, 1)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")
    print(f"enrolled {out['enrolled']}; wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
