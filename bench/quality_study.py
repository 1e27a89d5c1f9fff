"""Issue 23: does evidence beyond fused distance and margin raise "high" coverage, and do fusion
weights that depend on the query face's quality raise hard rank-1? Held out by identity.

Works on the face cache (bench/face_cache.py; a set still being cached counts with the images
done) and the protocol of bench/confidence_study.py: one face per identity enrolled, the other
photos and lfw-dev's hard copies the queries, every query also a stranger (its identity left out),
every one-photo identity a stranger. Identities fall into 5 folds; everything is chosen on 4
folds' identities and measured on the 5th, five times.

1. **Evidence for the tiers.** The shipped rule scores a top match by a logistic over its fused
   distance and margin and cuts that score where the tuning folds' "high" band is 99.7% precise
   and lets in at most 0.5% of strangers (matching/calibrate.py). Each candidate evidence set is
   fitted and cut the same way at the protocol's size: per-embedder distances and margins, both
   embedders naming the same performer, the query face's quality (size, sharpness, pose from
   YuNet's landmarks).
2. **Quality-weighted fusion.** The dlib share of the fusion chosen per band of query face size
   (tuning folds' rank-1, plain and hard together) against one share for every face.

    python -m bench.quality_study           # a minute once the cache exists

Writes bench/results/quality.json.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bench import confidence_study as cs
from bench.face_cache import QUALITY, SETS, available, load
from stash_sense.matching.calibrate import (
    STRANGER_RATES,
    TARGETS,
    Outcomes,
    _cuts,
    _logistic,
    folds_by_identity,
)

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "quality.json"
WEIGHTS = {"sface": 0.25, "dlib": 0.75}
#: evidence sets compared (columns of `Evidence.columns`); the first is what ships today
CANDIDATES: dict[str, tuple[str, ...]] = {
    "distance, margin (shipped)": ("d", "m"),
    "+ both embedders agree": ("d", "m", "agree"),
    "+ each embedder agrees": ("d", "m", "agree_sface", "agree_dlib"),
    "+ per-embedder margins": ("d", "m", "m_sface", "m_dlib"),
    "per-embedder distances, margin": ("d_sface", "d_dlib", "m"),
    "+ face size": ("d", "m", "log_size"),
    "+ face size x distance": ("d", "m", "log_size", "d_x_size"),
    "+ sharpness": ("d", "m", "log_blur"),
    "+ pose": ("d", "m", "abs_yaw", "abs_pitch"),
    "+ quality (size, sharpness, pose)": ("d", "m", "log_size", "log_blur", "abs_yaw"),
    "+ agree + quality": ("d", "m", "agree", "log_size", "log_blur", "abs_yaw"),
    "+ the worse embedder's distance": ("d", "m", "d_worse"),
    "+ the match's nearest other performer": ("d", "m", "hub"),
    "+ nearest other performer + worse embedder": ("d", "m", "hub", "d_worse"),
}
#: dlib's cosine distances are about this many times smaller than SFace's (docs/matching.md)
DLIB_SCALE = 6.0
SHARES = (0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9)
#: query face size bands (px, the shorter side of YuNet's box) for the weighted fusion
SIZE_EDGES = (60.0, 90.0)


def quality_columns(faces: cs.Faces) -> dict[str, npt.NDArray[np.float64]]:
    """Each cached face's quality figures in `cs.gather`'s row order."""
    parts = [load(s) for s in SETS if available(s)]
    q = np.concatenate([p.quality[p.found] for p in parts]).astype(np.float64)
    assert len(q) == len(faces.identity)
    return {c: q[:, i] for i, c in enumerate(QUALITY)}


def split_distances(faces: cs.Faces, queries: np.ndarray, gallery: np.ndarray
                    ) -> dict[str, npt.NDArray[np.float32]]:  # fmt: skip
    return {n: 1.0 - faces.vectors[n][queries] @ faces.vectors[n][gallery].T for n in WEIGHTS}


def fused(per: dict[str, np.ndarray], dlib_share: npt.NDArray[np.float64]) -> np.ndarray:
    """Fused distance with a dlib share per query row."""
    s = dlib_share[:, None].astype(np.float32)
    return np.asarray((1 - s) * per["sface"] + s * per["dlib"])


@dataclass
class Evidence:
    """Top-1 outcomes of queries, as themselves and as strangers, with every candidate column
    of evidence (one row each)."""

    columns: dict[str, npt.NDArray[np.float64]]
    correct: npt.NDArray[np.bool_]
    stranger: npt.NDArray[np.bool_]
    identity: npt.NDArray[np.str_]
    kind: npt.NDArray[np.str_]
    performers: int

    def matrix(self, cols: tuple[str, ...]) -> npt.NDArray[np.float64]:
        return np.stack([self.columns[c] for c in cols], axis=1)


def protocol_evidence(faces: cs.Faces, kinds: np.ndarray, quality: dict[str, np.ndarray],
                      dlib_share: npt.NDArray[np.float64] | None = None) -> Evidence:  # fmt: skip
    """The protocol (one face per performer): every query's top match and its evidence."""
    gallery = np.nonzero((kinds == "enrolment") | (kinds == "single"))[0]
    queries = np.nonzero(kinds != "enrolment")[0]
    per = split_distances(faces, queries, gallery)
    share = np.full(len(queries), WEIGHTS["dlib"]) if dlib_share is None else dlib_share
    fd = fused(per, share)
    # each enrolled face's three nearest other enrolled faces (the match's neighbourhood)
    gg = fused(split_distances(faces, gallery, gallery), np.full(len(gallery), share[0]))
    np.fill_diagonal(gg, np.inf)
    near = np.argsort(gg, axis=1)[:, :3]
    gallery_identity = faces.identity[gallery]
    same = faces.identity[queries][:, None] == faces.identity[gallery][None, :]
    enrolment = same & (faces.file[gallery][None, :] == "0.jpg")
    cols: dict[str, list[np.ndarray]] = {}
    meta: dict[str, list[np.ndarray]] = {"correct": [], "stranger": [], "ident": [],
                                         "kind": [], "query": []}  # fmt: skip
    for stranger in (False, True):
        mask = same if stranger else same & ~enrolment
        rows = np.ones(len(queries), bool) if stranger else (
            enrolment.any(axis=1) & (kinds[queries] != "single"))  # fmt: skip
        idx = np.nonzero(rows)[0]
        r = np.arange(len(idx))
        f = np.where(mask[idx], np.inf, fd[idx])
        two = np.argsort(f, axis=1)[:, :2]
        top = two[:, 0]
        d1, d2 = f[r, top], f[r, two[:, 1]]
        c: dict[str, np.ndarray] = {"d": d1, "m": np.clip(d2 - d1, -0.3, 0.3)}
        for n, dn_all in per.items():
            dn = np.where(mask[idx], np.inf, dn_all[idx])
            own = np.argsort(dn, axis=1)[:, :2]
            c[f"agree_{n}"] = (own[:, 0] == top).astype(np.float64)
            c[f"d_{n}"] = dn[r, top]
            other = np.where(own[:, 0] == top, dn[r, own[:, 1]], dn[r, own[:, 0]])
            c[f"m_{n}"] = np.clip(other - dn[r, top], -0.5, 0.5)
        c["agree"] = c["agree_sface"] * c["agree_dlib"]
        c["d_worse"] = np.maximum(c["d_sface"], DLIB_SCALE * c["d_dlib"])
        # the query's own identity is never in the database, so never the neighbour either
        qid = faces.identity[queries][idx]
        c["hub"] = np.array([
            gg[t, next(j for j in near[t] if gallery_identity[j] != q)]
            for t, q in zip(top, qid, strict=True)
        ])  # fmt: skip
        qrow = queries[idx]
        c["log_size"] = np.log2(np.maximum(quality["size"][qrow], 8.0))
        c["d_x_size"] = c["d"] * c["log_size"]
        c["log_blur"] = np.log10(np.maximum(quality["blur"][qrow], 1.0))
        c["abs_yaw"] = np.abs(quality["yaw"][qrow]) / 45.0
        c["abs_pitch"] = np.abs(quality["pitch"][qrow]) / 45.0
        for k, v in c.items():
            cols.setdefault(k, []).append(np.asarray(v, np.float64))
        meta["correct"].append(same[idx, top] & (not stranger))
        meta["stranger"].append(np.full(len(idx), stranger))
        meta["ident"].append(faces.identity[qrow])
        meta["kind"].append(kinds[qrow])
        meta["query"].append(qrow)
    return Evidence(
        columns={k: np.concatenate(v) for k, v in cols.items()},
        correct=np.concatenate(meta["correct"]),
        stranger=np.concatenate(meta["stranger"]),
        identity=np.concatenate(meta["ident"]),
        kind=np.concatenate(meta["kind"]),
        performers=len(gallery),
    )


#: evidence sets compared on a gallery of two faces a performer
TWO_FACES: dict[str, tuple[str, ...]] = {
    "distance, margin (shipped)": ("d", "m"),
    "+ the performer's farther face": ("d", "m", "d_far"),
    "+ both faces' mean": ("d", "m", "d_mean"),
}


def two_face_evidence(faces: cs.Faces, kinds: np.ndarray) -> Evidence:
    """A gallery of two faces a performer (`0.jpg` and `1.jpg` of each identity with at least
    three photos; one-photo identities one face), queries the remaining photos: each query's top
    performer (its nearest face) with the distance of its other face. Plain queries only."""
    lfw = faces.set_name != "lfw-dev-hard-queries"
    photos = {str(i): int(n) for i, n in zip(*np.unique(faces.identity[lfw], return_counts=True),
                                              strict=True)}  # fmt: skip
    many = np.array([photos.get(str(i), 0) >= 3 for i in faces.identity]) & lfw
    enrolled = (many & np.isin(faces.file, ["0.jpg", "1.jpg"])) | (kinds == "single")
    gallery = np.nonzero(enrolled)[0]
    queries = np.nonzero(many & ~enrolled)[0]
    names, owner = np.unique(faces.identity[gallery], return_inverse=True)
    d = fused(split_distances(faces, queries, gallery), np.full(len(queries), WEIGHTS["dlib"]))
    n_p = len(names)
    near = np.full((len(queries), n_p), np.inf, np.float32)
    far = np.full((len(queries), n_p), -np.inf, np.float32)
    total = np.zeros((len(queries), n_p), np.float32)
    counts = np.bincount(owner, minlength=n_p)
    for j, p in enumerate(owner):
        near[:, p] = np.minimum(near[:, p], d[:, j])
        far[:, p] = np.maximum(far[:, p], d[:, j])
        total[:, p] += d[:, j]
    mean = total / counts[None, :]
    same = faces.identity[queries][:, None] == names[None, :]
    parts: dict[str, list[np.ndarray]] = {}
    for stranger in (False, True):
        dd = np.where(same, np.inf, near) if stranger else near
        r = np.arange(len(queries))
        two = np.argsort(dd, axis=1)[:, :2]
        top = two[:, 0]
        d1, d2 = dd[r, top], dd[r, two[:, 1]]
        for key, value in (
            ("d", d1),
            ("m", np.clip(d2 - d1, -0.3, 0.3)),
            ("d_far", far[r, top]),
            ("d_mean", mean[r, top]),
            ("correct", same[r, top] & (not stranger)),
            ("stranger", np.full(len(queries), stranger)),
            ("identity", faces.identity[queries]),
        ):
            parts.setdefault(key, []).append(np.asarray(value))
    cat = {k: np.concatenate(v) for k, v in parts.items()}
    return Evidence(
        columns={k: cat[k].astype(np.float64) for k in ("d", "m", "d_far", "d_mean")},
        correct=cat["correct"].astype(bool),
        stranger=cat["stranger"].astype(bool),
        identity=cat["identity"],
        kind=np.full(len(cat["d"]), "plain"),
        performers=n_p,
    )


def fit(ev: Evidence, cols: tuple[str, ...], rows: np.ndarray, per_part: bool = False
        ) -> tuple[float, np.ndarray, dict[str, float]]:  # fmt: skip
    """Logistic score and tier cuts fitted on `rows`, as matching/calibrate.fit_rule at one size;
    `per_part`: each cut the stricter of those plain and hard queries (and their strangers) each
    meet alone, so that neither part's strangers pay for the other's coverage."""
    x = ev.matrix(cols)[rows]
    stranger, correct = ev.stranger[rows], ev.correct[rows]
    w = np.ones(len(x))
    w[stranger] = (~stranger).sum() / max(int(stranger.sum()), 1)
    b0, b = _logistic(x, correct.astype(np.float64), w)
    s = b0 + x @ b
    o = Outcomes.of(ev.columns["d"][rows], ev.columns["m"][rows], ev.performers, correct, stranger)
    if not per_part:
        return b0, b, _cuts(s, o, TARGETS, STRANGER_RATES)
    hard = ev.kind[rows] == "hard"
    parts = [_cuts(s[m], o.subset(m), TARGETS, STRANGER_RATES) for m in (hard, ~hard) if m.any()]
    return b0, b, {t: max(c[t] for c in parts) for t in parts[0]}


def held_out_tiers(ev: Evidence, cols: tuple[str, ...], fold: np.ndarray, per_part: bool = False
                   ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Each row's tier (0 high .. 3 unlikely) from the rule fitted on the other folds, and its
    score minus that rule's "high" cut (comparable across folds); rows of fold -1 take no part."""
    tier = np.full(len(fold), 3, np.int64)
    over = np.zeros(len(fold))
    x = ev.matrix(cols)
    for k in np.unique(fold[fold >= 0]):
        b0, b, cuts = fit(ev, cols, (fold != k) & (fold >= 0), per_part)
        s = b0 + x[fold == k] @ b
        t = np.full(len(s), 3, np.int64)
        for i, name in reversed(list(enumerate(("high", "likely", "possible")))):
            t[s >= cuts[name]] = i
        tier[fold == k] = t
        over[fold == k] = s - cuts["high"]
    return tier, over


def at_equal_strangers(ev: Evidence, over: np.ndarray, strangers: int) -> dict[str, Any]:
    """Plain queries: the share (and precision) above the held-out score that lets in exactly
    `strangers` plain strangers: coverage at the same stranger count, cut noise aside."""
    m = ev.kind != "hard"
    e = m & ~ev.stranger
    s_scores = np.sort(over[m & ev.stranger])[::-1]
    cut = s_scores[strangers] if strangers < len(s_scores) else -np.inf
    got = e & (over > cut)
    return {
        "strangers": strangers,
        "share": round(float(got.sum() / max(e.sum(), 1)), 4),
        "precision": round(float(ev.correct[got].mean()), 5) if got.any() else None,
    }


def band(ev: Evidence, tier: np.ndarray) -> dict[str, Any]:
    """High and high-or-likely: share, precision, strangers let in; plain and hard apart."""
    out: dict[str, Any] = {}
    for part in ("plain", "hard"):
        m = (ev.kind == "hard") if part == "hard" else (ev.kind != "hard")
        e, s = m & ~ev.stranger, m & ev.stranger
        if not e.any():
            continue
        row: dict[str, Any] = {"queries": int(e.sum()), "strangers": int(s.sum())}
        for name, top in (("high", 0), ("likely_or_better", 1)):
            got = e & (tier <= top)
            row[name] = {
                "share": round(float(got.sum() / e.sum()), 4),
                "precision": round(float(ev.correct[got].mean()), 5) if got.any() else None,
                "wrong": int((got & ~ev.correct).sum()),
                "stranger_share": round(float((s & (tier <= top)).sum() / max(s.sum(), 1)), 4),
                "strangers_in": int((s & (tier <= top)).sum()),
            }
        row["rank1"] = round(float(ev.correct[e].mean()), 4)
        out[part] = row
    return out


def evidence_study(
    ev: Evidence,
    folds: dict[str, int],
    candidates: dict[str, tuple[str, ...]] = CANDIDATES,
    per_part: bool = False,
) -> dict[str, Any]:
    """Every candidate evidence set, held out: its tiers, and its plain coverage at the shipped
    rule's held-out stranger count. Then the set chosen on the tuning folds alone (`chosen`):
    for each fold, the candidate with the most right "high" answers in an inner cross-validation
    over the other four folds among those letting in no more strangers than the shipped set
    there, measured on the fold."""
    fold = np.array([folds[i] for i in ev.identity])
    out: dict[str, Any] = {}
    tiers: dict[str, np.ndarray] = {}
    budget = 0
    for name, cols in candidates.items():
        tier, over = held_out_tiers(ev, cols, fold, per_part)
        tiers[name] = tier
        out[name] = band(ev, tier)
        if not budget:
            budget = int(out[name]["plain"]["high"]["strangers_in"])
        out[name]["plain"]["at_shipped_strangers"] = at_equal_strangers(ev, over, budget)
    chosen = np.full(len(fold), 3, np.int64)
    picks: list[str] = []
    shipped = next(iter(candidates))
    for k in np.unique(fold):
        inner = np.where(fold == k, -1, fold)
        score: dict[str, tuple[int, int]] = {}
        for name, cols in candidates.items():
            t, _ = held_out_tiers(ev, cols, inner, per_part)
            high = (t == 0) & (inner >= 0)
            score[name] = (int((high & ev.correct).sum()), int((high & ev.stranger).sum()))
        allowed = [n for n in candidates if score[n][1] <= score[shipped][1]]
        pick = max(allowed, key=lambda n: (score[n][0], n == shipped))
        picks.append(pick)
        chosen[fold == k] = tiers[pick][fold == k]
    out["chosen on tuning folds"] = band(ev, chosen)
    out["chosen on tuning folds"]["per_fold"] = picks
    return out


def size_band(size: np.ndarray) -> np.ndarray:
    return np.searchsorted(np.asarray(SIZE_EDGES), size, side="right")


def fusion_study(faces: cs.Faces, kinds: np.ndarray, quality: dict[str, np.ndarray],
                 folds: dict[str, int]) -> dict[str, Any]:  # fmt: skip
    """Rank-1 with one dlib share for every face vs a share per query size band, both chosen on
    the tuning folds, measured on the held-out fold."""
    gallery = np.nonzero((kinds == "enrolment") | (kinds == "single"))[0]
    queries = np.nonzero((kinds == "plain") | (kinds == "hard"))[0]
    same = faces.identity[queries][:, None] == faces.identity[gallery][None, :]
    enrolment = same & (faces.file[gallery][None, :] == "0.jpg")
    keep = enrolment.any(axis=1)
    queries, same, enrolment = queries[keep], same[keep], enrolment[keep]
    per = split_distances(faces, queries, gallery)
    right = {}
    for share in SHARES:
        d = fused(per, np.full(len(queries), share))
        d = np.where(same & ~enrolment, np.inf, d)
        right[share] = same[np.arange(len(queries)), d.argmin(axis=1)]
    fold = np.array([folds[i] for i in faces.identity[queries]])
    bands = size_band(quality["size"][queries])
    kind = kinds[queries]
    one, banded = np.zeros(len(queries), bool), np.zeros(len(queries), bool)
    chosen: list[dict[str, Any]] = []
    for k in range(cs.FOLDS):
        tr, te = fold != k, fold == k
        best = max(SHARES, key=lambda s: (right[s][tr].mean(), -abs(s - WEIGHTS["dlib"])))
        one[te] = right[best][te]
        per_band = {}
        for b in np.unique(bands):
            at = tr & (bands == b)
            pick = best if not at.any() else max(
                SHARES, key=lambda s: (right[s][at].mean(), -abs(s - best)))  # fmt: skip
            per_band[int(b)] = pick
            banded[te & (bands == b)] = right[pick][te & (bands == b)]
        chosen.append({"one": best, "per_band": per_band})
    return {
        "size_edges_px": list(SIZE_EDGES),
        "queries_per_band": {
            part: np.bincount(bands[kind == part], minlength=len(SIZE_EDGES) + 1).tolist()
            for part in ("plain", "hard")
        },
        "chosen_per_fold": chosen,
        "rank1_one_share": {p: round(float(one[kind == p].mean()), 4) for p in ("plain", "hard")},
        "rank1_per_band": {p: round(float(banded[kind == p].mean()), 4) for p in ("plain", "hard")},
        "grid_rank1_by_band": {
            str(s): {int(b): round(float(right[s][bands == b].mean()), 4) for b in np.unique(bands)}
            for s in SHARES
        },
    }


def main() -> int:
    started, cpu = time.perf_counter(), time.process_time()
    missing = [s for s in SETS if not available(s)]
    if "lfw-dev" in missing:
        sys.exit("no face cache for lfw-dev: run `python -m bench.face_cache` first")
    if missing:
        print(f"sets not cached yet, left out: {', '.join(missing)}", flush=True)
    faces = cs.gather()
    kinds = cs.labels(faces)
    quality = quality_columns(faces)
    folds = folds_by_identity([str(i) for i in faces.identity], cs.FOLDS, cs.SEED)
    ev = protocol_evidence(faces, kinds, quality)
    result: dict[str, Any] = {
        "sets": {s: int((faces.set_name == s).sum()) for s in SETS},
        "performers": ev.performers,
        "folds": cs.FOLDS,
        "evidence": evidence_study(ev, folds),
        "evidence_per_part_strangers": evidence_study(ev, folds, per_part=True),
        "fusion": fusion_study(faces, kinds, quality, folds),
    }
    two = two_face_evidence(faces, kinds)
    result["two_faces"] = {"performers": two.performers,
                           **evidence_study(two, folds, TWO_FACES)}  # fmt: skip
    result["elapsed_s"] = round(time.perf_counter() - started, 1)
    result["cpu_s"] = round(time.process_time() - cpu, 1)
    result["load_average"] = [round(x, 2) for x in os.getloadavg()]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{ev.performers} performers, sets {result['sets']}")
    rows = [*result["evidence"].items()]
    rows += [(f"per part: {k}", v) for k, v in result["evidence_per_part_strangers"].items()]
    rows += [(f"two faces: {k}", v) for k, v in result["two_faces"].items() if k != "performers"]
    for name, r in rows:
        line = " | ".join(
            f"{p}: high {v['high']['share']:.2%} at {v['high']['precision']}, strangers "
            f"{v['high']['stranger_share']:.2%} ({v['high']['strangers_in']})"
            for p, v in r.items()
            if p in ("plain", "hard")
        )
        eq = r["plain"].get("at_shipped_strangers")
        if eq:
            line += f" | at {eq['strangers']} strangers: {eq['share']:.2%} at {eq['precision']}"
        if "per_fold" in r:
            line += f" | {r['per_fold']}"
        print(f"{name:36} {line}")
    f = result["fusion"]
    print(f"fusion rank-1 one share {f['rank1_one_share']}, per size band {f['rank1_per_band']}")
    print(f"chosen {f['chosen_per_fold']}; queries per band {f['queries_per_band']}")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
