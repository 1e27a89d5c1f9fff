"""Identification accuracy and confidence held out by identity, with face_recognition beside.

Protocol (../shared/eval/README.md, widened to every LFW identity the project may use): one face
per identity enrolled, as most StashDB performers have one (`0.jpg` of each lfw-dev and
lfw-dev-extra identity and every one-image distractor: 3,599 performers); queries are the other
photos (plain) and the hard copies of lfw-dev's (hard); every query is also run as a stranger
(its own identity left out). A query is right when its top match is its identity.

The numbers come from the face cache (bench/face_cache.py: the product's FaceEngine run once over
every image) and the calibration study (bench/confidence_study.py: the fusion weight chosen on
four folds of identities and its rank-1 measured on the fifth; the tier rule fitted on four folds,
measured on the fifth, five times; also from 500 to ~6,900 performers). Other ensembles (SFace +
FaceNet, the former default; all three) are ranked beside it on the same protocol.
The chosen rule then goes through the real identify path (SQLite + Voyager + `Matcher` + the
cascade's first-embedder rule) to check the product gives the same answers, and is written to
`src/stash_sense/database/calibrated.json`, what a new database starts with.

face_recognition 1.3 (dlib HOG detector + 128-d ResNet) runs the same protocol as the peer
(`python -m bench.face_cache --peer` caches its encodings; skipped with a note if missing).

    python -m bench.accuracy  ->  python -m bench.bench_accuracy   # BENCH_QUICK=1: no identify path

Writes bench/results/accuracy.json (and confidence.json) and the package's calibrated.json.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from bench import confidence_study as cs
from bench.evaldata import require_eval
from bench.face_cache import SETS, available, peer_path
from stash_sense.database import DatabaseWriter, EmbedderInfo, FaceDatabase, PerformerRecord
from stash_sense.database.calibrated import DATA as CALIBRATED
from stash_sense.database.calibrated import measured as shipped
from stash_sense.faces.embedders import EMBEDDERS
from stash_sense.faces.types import AnalyzedFace, Box, DetectedFace, FaceQuality
from stash_sense.matching import Matcher, Tiers
from stash_sense.matching.calibrate import measured
from stash_sense.matching.fusion import aggregate
from stash_sense.matching.tiers import TIER_NAMES, evidence_for

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "accuracy.json"
QUICK = os.environ.get("BENCH_QUICK") == "1"
NAMES = cs.ENSEMBLE
#: issue 15's targets (held out, >= 3,000 performers enrolled)
TARGETS = {
    "high_precision": 0.995,
    "high_share_plain": 0.75,
    "likely_precision": 0.90,
    "rank1_plain": 0.95,
    "rank1_hard": 0.90,
    "performers": 3000,
}
METHOD = (
    "bench/bench_accuracy.py: logistic score over fused distance and margin, cuts per database "
    "size (500 to ~6,900 performers), fitted on 4 of 5 folds of LFW identities, measured on the 5th"
)


def peer(faces: cs.Faces, kinds: np.ndarray, weights: dict[str, float]) -> dict[str, Any]:
    """face_recognition and our fused engine on the same protocol: every set the peer's cache
    holds (bench/face_cache.py --peer), one face per identity enrolled; rank-1, and for the peer
    its share, precision and strangers at its usual cuts (0.6, its default, and 0.45)."""
    sets = [s for s in SETS if peer_path(s).is_file()]
    if "lfw-dev" not in sets:
        return {"skipped": "no face_recognition cache: python -m bench.face_cache --peer"}
    parts = [np.load(peer_path(s)) for s in sets]
    key = {
        (s, str(i), str(f)): v
        for s, p in zip(sets, parts, strict=True)
        for i, f, v in zip(p["identities"], p["files"], p["vectors"], strict=True)
    }
    nan = np.full(128, np.nan, np.float32)
    vec = np.stack(
        [
            key.get((s, i, f), nan)
            for s, i, f in zip(faces.set_name, faces.identity, faces.file, strict=True)
        ]
    )
    have = np.isin(faces.set_name, sets)
    gallery = np.nonzero(have & ((kinds == "enrolment") | (kinds == "single")))[0]
    out: dict[str, Any] = {
        "sets": sets,
        "performers": len(gallery),
        "elapsed_s": round(sum(float(p["elapsed"]) for p in parts), 1),
    }
    g = np.nan_to_num(vec[gallery], nan=1e3)
    for part in ("plain", "hard"):
        queries = np.nonzero(have & (kinds == part))[0]
        same = faces.identity[queries][:, None] == faces.identity[gallery][None, :]
        own = same & (faces.file[gallery][None, :] == "0.jpg")
        enrolled = own.any(axis=1)
        queries, same, own = queries[enrolled], same[enrolled], own[enrolled]
        rows = np.arange(len(queries))
        q = vec[queries]
        found = ~np.isnan(q[:, 0])
        d = np.sqrt(np.maximum(0, (q**2).sum(1)[:, None] - 2 * q @ g.T + (g**2).sum(1)[None]))
        d = np.where(found[:, None], d, np.inf)
        d_q = np.where(same & ~own, np.inf, d)
        right = same[rows, d_q.argmin(axis=1)] & found
        best = d_q.min(axis=1)
        stranger = np.where(same, np.inf, d).min(axis=1)
        ours = np.where(same & ~own, np.inf, cs.distance(faces, queries, gallery, weights))
        row: dict[str, Any] = {
            "queries": len(queries),
            "rank1": round(float(right.mean()), 4),
            "rank1_ours": round(float(same[rows, ours.argmin(axis=1)].mean()), 4),
            "no_face": int((~found).sum()),
        }
        for cut in (0.45, 0.6):
            acc = best <= cut
            row[f"at_{cut}"] = {
                "share": round(float(acc.mean()), 4),
                "precision": round(float(right[acc].mean()), 4) if acc.any() else None,
                "stranger_share": round(float((stranger <= cut).mean()), 4),
            }
        out[part] = row
    return out


def persons(faces: cs.Faces, kinds: np.ndarray, weights: dict[str, float], tiers: Tiers
            ) -> dict[str, Any]:  # fmt: skip
    """How the single-photo rule treats a person of several photos, as a scene's person is
    matched (docs/matching.md section 3: per performer the mean of the three best per-face
    distances): each identity's 2-5 hard copies, or 2-5 plain photos, as one person, against the
    protocol gallery, as itself and as a stranger (its identity left out). In-sample: the shipped
    rule was fitted on these identities' single photos."""
    gallery = np.nonzero((kinds == "enrolment") | (kinds == "single"))[0]
    enrolled = set(faces.identity[gallery].tolist())
    size = len(gallery)
    out: dict[str, Any] = {}
    for part in ("hard", "plain"):
        queries = np.nonzero(kinds == part)[0]
        counts: dict[str, int] = {"persons": 0, "right": 0, **{t: 0 for t in TIER_NAMES}}
        strangers = {t: 0 for t in TIER_NAMES}
        for ident in np.unique(faces.identity[queries]):
            rows = queries[faces.identity[queries] == ident][:5]
            if len(rows) < 2 or ident not in enrolled:
                continue
            d = cs.distance(faces, rows, gallery, weights)
            own = faces.identity[gallery] == ident
            for stranger in (False, True):
                dd = np.where(own[None, :], np.inf, d) if stranger else d
                per = aggregate(dd)  # as Matcher.match_faces ranks a person's performers
                order = np.argsort(per)[:2]
                ev = evidence_for([float(per[j]) for j in order], size)[0]
                tier = tiers.tier(ev)
                if stranger:
                    strangers[tier] += 1
                else:
                    counts["persons"] += 1
                    counts["right"] += int(own[order[0]])
                    counts[tier] += 1
        out[part] = {**counts, "strangers": strangers}
    return out


def _face(vectors: dict[str, np.ndarray]) -> AnalyzedFace:
    quality = FaceQuality(1.0, 100.0, 100.0, 0.0, 0.0, 0.0, True)
    detected = DetectedFace(Box(0, 0, 100, 100), 1.0, np.zeros((5, 2), np.float32))
    return AnalyzedFace(detected, quality, vectors)


def identify_path(faces: cs.Faces, kinds: np.ndarray, tiers: Tiers, root: Path) -> dict[str, Any]:
    """The protocol through SQLite + Voyager + Matcher with the chosen tiers (and the cascade's
    first-embedder call): rank-1 and the tier of every enrolled query, to compare with numpy."""
    embedders = {n: EMBEDDERS[n]() for n in NAMES}
    infos = [EmbedderInfo.from_embedder(e) for e in embedders.values()]
    gallery = np.nonzero((kinds == "enrolment") | (kinds == "single"))[0]
    with DatabaseWriter.open(root, infos) as writer:
        with writer.transaction():
            for i in gallery:
                pid = writer.upsert_performer(PerformerRecord(name=str(faces.identity[i])), "b")
                vec = {n: faces.vectors[n][i] for n in NAMES}
                key = f"{faces.set_name[i]}/{faces.identity[i]}/{faces.file[i]}"
                writer.add_face(pid, "b", key, _face(vec))
        writer.publish(tiers=tiers.as_dict())
    out: dict[str, Any] = {}
    with FaceDatabase.open(root, infos) as fdb:
        matcher = Matcher(fdb, list(NAMES))
        first = Matcher(fdb, ["sface"], weights={"sface": 1.0}, tiers=matcher.tiers)
        for part in ("plain", "hard"):
            queries = [i for i in np.nonzero(kinds == part)[0]]
            right = high = high_right = decided = 0
            bands: dict[str, int] = {t: 0 for t in TIER_NAMES}
            for i in queries:
                alone = first.match_face(_face({"sface": faces.vectors["sface"][i]}), top=2)
                ev = evidence_for([m.distance for m in alone], first.performers)
                if alone and matcher.tiers.decisive(ev[0]):
                    top, tier = alone[0], "high"
                    decided += 1
                else:
                    fused = matcher.match_face(_face({n: faces.vectors[n][i] for n in NAMES}), 2)
                    top, tier = fused[0], fused[0].tier
                ok = top.name == faces.identity[i]
                right += ok
                bands[tier] += 1
                if tier == "high":
                    high += 1
                    high_right += ok
            n = len(queries)
            out[part] = {
                "queries": n,
                "rank1": round(right / n, 4),
                "decided_by_first": decided,
                "tiers": bands,
                "high_share": round(high / n, 4),
                "high_precision": round(high_right / high, 4) if high else None,
            }
    return out


def calibration_file(result: dict[str, Any], pooled: dict[str, Any]) -> dict[str, Any]:
    """What calibrated.json holds: the ensemble, the fusion and the tier rule with its figures."""
    embedders = {n: EMBEDDERS[n]() for n in NAMES}
    tiers = Tiers(
        fused=result["_fused_rule"],
        first=result["_first_rule"],
        first_embedder="sface",
        calibration=measured(pooled, result["protocol"]["performers"], METHOD),
    )
    data = tiers.as_dict()
    data["calibration"]["plain"] = _brief(result["protocol"]["plain"])
    data["calibration"]["hard"] = _brief(result["protocol"]["hard"])
    data["calibration"]["measured_by"] = "python -m bench.bench_accuracy (../shared/eval/faces)"
    return {
        "ensemble": {n: e.version for n, e in embedders.items()},
        "fusion": dict(result["weights"]),
        "tiers": data,
    }


def _brief(report: dict[str, Any]) -> dict[str, Any]:
    return {
        t: {k: report[t][k] for k in ("share", "precision", "stranger_share")} for t in TIER_NAMES
    } | {"rank1": report["rank1"]}


def pooled_report(result: dict[str, Any]) -> dict[str, Any]:
    """Plain and hard (and their strangers) together, held out."""
    p, h = result["protocol"]["plain"], result["protocol"]["hard"]
    out: dict[str, Any] = {}
    nq, ns = p["n_queries"] + h["n_queries"], p["n_strangers"] + h["n_strangers"]
    for t in TIER_NAMES:
        q = p[t]["queries"] + h[t]["queries"]
        r = p[t]["right"] + h[t]["right"]
        s = p[t]["strangers"] + h[t]["strangers"]
        out[t] = {
            "queries": q,
            "right": r,
            "share": round(q / nq, 4),
            "precision": round(r / q, 4) if q else None,
            "strangers": s,
            "stranger_share": round(s / ns, 4),
        }
    out["rank1"] = round((p["rank1"] * p["n_queries"] + h["rank1"] * h["n_queries"]) / nq, 4)
    out["n_queries"], out["n_strangers"] = nq, ns
    return out


def main() -> int:
    require_eval()
    started = time.perf_counter()
    missing = [s for s in SETS if not available(s)]
    if missing:
        from bench import face_cache

        print(f"building the face cache for {missing} (bench/face_cache.py)", flush=True)
        face_cache.main()
    result = cs.study()
    faces = cs.gather()
    kinds = cs.labels(faces)
    pooled = pooled_report(result)
    calibrated = calibration_file(result, pooled)
    tiers = Tiers.from_dict(calibrated["tiers"])
    path: dict[str, Any] = {}
    if not QUICK:
        # written first, so that the identify path's database starts with exactly what ships
        CALIBRATED.write_text(json.dumps(calibrated, indent=2) + "\n")
        shipped.cache_clear()
        print(f"wrote {CALIBRATED}")
        with tempfile.TemporaryDirectory(prefix="bench-accuracy-") as tmp:
            path = identify_path(faces, kinds, tiers, Path(tmp) / "db")
    peer_result = peer(faces, kinds, result["weights"])
    person_result = persons(faces, kinds, result["weights"], tiers)
    study = {k: v for k, v in result.items() if not k.startswith("_")}
    results: dict[str, Any] = {
        "quick": QUICK,
        "setup": {
            "performers": result["protocol"]["performers"],
            "queries": {p: result["protocol"][p]["n_queries"] for p in ("plain", "hard")},
            "strangers": {p: result["protocol"][p]["n_strangers"] for p in ("plain", "hard")},
            "fusion": result["weights"],
            "folds": cs.FOLDS,
            "subject_face": "LFW photo: the face nearest the centre; hard query: the largest",
            "python": platform.python_version(),
            "opencv": cv2.__version__,
            "cpus": os.cpu_count(),
        },
        "targets": TARGETS,
        "held_out": {
            "plain": result["protocol"]["plain"],
            "hard": result["protocol"]["hard"],
            "all": pooled,
        },
        "cascade": result.get("first"),
        "identify_path": path,
        "scale": result["scale"],
        "trend": result["trend"],
        "rule_distances": result["rule_distances"],
        "in_sample": result["in_sample"],
        "wrong_high": result["wrong_high"],
        "fusion_choice": result["fusion"],
        "persons": person_result,
        "face_recognition": peer_result,
        "elapsed_s": round(time.perf_counter() - started, 1),
    }
    report(results)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    out = RESULTS.with_name("accuracy-quick.json") if QUICK else RESULTS
    out.write_text(json.dumps(results, indent=2) + "\n")
    cs.RESULTS.write_text(json.dumps(study, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


def _pct(x: float | None) -> str:
    return f"{x:.1%}" if x is not None else "-"


def report(r: dict[str, Any]) -> None:
    t = r["targets"]
    setup = r["setup"]
    print(f"{setup['performers']} performers; held out by identity ({setup['folds']} folds)")
    print(f"{'':10} {'tier':9} {'share':>7} {'precision':>10} {'target':>7} {'strangers':>10}")
    for part in ("plain", "hard", "all"):
        rep = r["held_out"][part]
        for tier in TIER_NAMES:
            b = rep[tier]
            target = {"high": t["high_precision"], "likely": t["likely_precision"]}.get(tier)
            print(
                f"{part:10} {tier:9} {_pct(b['share']):>7} {_pct(b['precision']):>10} "
                f"{_pct(target) if target else '':>7} {_pct(b['stranger_share']):>10}"
            )
        print(f"{part:10} rank-1 {_pct(rep['rank1'])}")
    fc = r["fusion_choice"]
    if fc:
        print(f"fusion chosen per fold: {[f['dlib_share'] for f in fc['per_fold']]} -> "
              f"{fc['chosen']}; its rank-1 held out: {fc['held_out_rank1']}")  # fmt: skip
        print(f"other ensembles, same protocol (rank-1): {fc['compared_rank1']}")
    print(f"targets: rank-1 plain {_pct(t['rank1_plain'])}, hard {_pct(t['rank1_hard'])}; "
          f"high covers {_pct(t['high_share_plain'])} of plain queries")  # fmt: skip
    if r["cascade"]:
        for part in ("plain", "hard"):
            c = r["cascade"][part]
            print(
                f"cascade {part}: SFace alone decides {_pct(c['decided_share'])} "
                f"(precision {_pct(c['decided_precision'])}, strangers "
                f"{_pct(c['strangers_decided_share'])}); high {_pct(c['cascade']['high']['share'])}"
                f" at {_pct(c['cascade']['high']['precision'])}"
            )
    if r["identify_path"]:
        print(f"identify path (SQLite + Voyager + Matcher): {r['identify_path']}")
    print("scale (held out, plain + one-photo strangers):")
    for size, rep in r["scale"].items():
        print(
            f"  {int(size):>6} performers: rank-1 {_pct(rep['rank1'])}, high "
            f"{_pct(rep['high']['share'])} at {_pct(rep['high']['precision'])}, strangers high "
            f"{_pct(rep['high']['stranger_share'])}"
        )
    print(f"trend: {json.dumps(r['trend'])}")
    print(f"wrong 'high' answers held out: {len(r['wrong_high'])}")
    for part, p in r["persons"].items():
        print(f"persons of several {part} photos: {p}")
    peer_r = r["face_recognition"]
    if "plain" in peer_r:
        for part in ("plain", "hard"):
            p = peer_r[part]
            print(
                f"face_recognition {part} ({peer_r['performers']} performers): rank-1 "
                f"{_pct(p['rank1'])} (ours {_pct(p['rank1_ours'])}; no face {p['no_face']}); "
                f"at 0.6: {p['at_0.6']}; at 0.45: {p['at_0.45']}"
            )
    else:
        print(f"face_recognition: {peer_r.get('skipped')}")


if __name__ == "__main__":
    sys.exit(main())
