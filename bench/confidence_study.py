"""Confidence that holds on identities the calibration never saw, from 500 to ~6,900 performers.

Works in numpy on the face cache (bench/face_cache.py: every face of ../shared/eval/faces analysed
by the product's FaceEngine). Two galleries:

- *protocol*: one face per identity, as most StashDB performers have: `0.jpg` of each lfw-dev and
  lfw-dev-extra identity plus every one-image distractor (3,599 performers). Queries: the other
  photos of those identities (plain) and the hard copies of lfw-dev's (hard).
- *scale*: every LFW photo is a performer (~6,900); a query keeps its identity's `0.jpg` and loses
  its identity's other photos, and random subsets give the sizes from 500 up.

Every query is also a *stranger*: the same query with its own identity left out of the database
(as are the one-image distractors). Identities fall into K folds; the tier rule is fitted on the
outcomes of K-1 folds' identities and measured on the held-out fold's, K times: every figure
called held out comes from a rule that never saw that identity.

    python -m bench.confidence_study        # a minute on 2 cores, once the cache exists

Writes bench/results/confidence.json (also run by bench_accuracy).
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bench.face_cache import SETS, FaceSet, available, load
from stash_sense.matching.calibrate import (
    Outcomes,
    band_report,
    describe,
    fit_rule,
    folds_by_identity,
    tier_report,
    tiers_of,
)
from stash_sense.matching.tiers import Rule

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "confidence.json"
FOLDS = 5
SEED = 7
SIZES = (500, 1000, 2000, 4000)
#: the ensemble (the engine's default) and the grid its fusion weight is chosen from: dlib's cosine
#: distances are about 6 times smaller than SFace's, so it needs the larger share of the weight
ENSEMBLE = ("sface", "dlib")
DLIB_SHARES = (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9)
#: ensembles compared beside it on the same protocol (rank-1 only)
COMPARED = {
    "sface+facenet (0.6/0.4, the former default)": {"sface": 0.6, "facenet": 0.4},
    "sface+facenet+dlib (0.15/0.1/0.75)": {"sface": 0.15, "facenet": 0.1, "dlib": 0.75},
    "sface alone": {"sface": 1.0},
    "dlib alone": {"dlib": 1.0},
}
EXTRAPOLATE = (10_000, 100_000)


@dataclass
class Faces:
    """Every cached face as rows: identity, set, file, vectors."""

    identity: npt.NDArray[np.str_]
    set_name: npt.NDArray[np.str_]
    file: npt.NDArray[np.str_]
    vectors: dict[str, npt.NDArray[np.float32]]


def gather(flip: bool = False, sets: tuple[str, ...] = SETS) -> Faces:
    """Every cached face of `sets` (those cached so far; a set still being cached counts with
    the images done)."""
    parts: list[FaceSet] = [load(s) for s in sets if available(s)]
    keep = [p.found for p in parts]
    return Faces(
        identity=np.concatenate([p.identities[k] for p, k in zip(parts, keep, strict=True)]),
        set_name=np.concatenate(
            [np.full(int(k.sum()), p.name) for p, k in zip(parts, keep, strict=True)]
        ),
        file=np.concatenate([p.files[k] for p, k in zip(parts, keep, strict=True)]),
        vectors={
            n: np.concatenate([p.vector(n, flip)[k] for p, k in zip(parts, keep, strict=True)])
            for n in ("sface", "facenet", "dlib")
            if all(n in p.vectors for p in parts)
        },
    )


def distance(faces: Faces, rows: Any, cols: Any, weights: dict[str, float]) -> np.ndarray:
    total = sum(weights.values())
    out = np.zeros((len(rows), len(cols)), np.float32)
    for name, w in weights.items():
        if w > 0:
            v = faces.vectors[name]
            out += (w / total) * (1.0 - v[rows] @ v[cols].T)
    return out


def top2(d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(column of the best, best distance, second-best distance) per row."""
    part = np.argpartition(d, 1, axis=1)[:, :2]
    two = np.take_along_axis(d, part, axis=1)
    order = np.argsort(two, axis=1)
    part = np.take_along_axis(part, order, axis=1)
    two = np.take_along_axis(two, order, axis=1)
    return part[:, 0], two[:, 0], two[:, 1]


@dataclass
class Rows:
    """Top-1 outcomes plus what each row is (for splitting and reporting)."""

    outcomes: Outcomes
    identity: npt.NDArray[np.str_]
    kind: npt.NDArray[np.str_]  # plain, hard, single (a one-image distractor, stranger only)
    size: npt.NDArray[np.int64]
    top_col: npt.NDArray[np.int64]
    query: npt.NDArray[np.int64]

    @staticmethod
    def concat(parts: list[Rows]) -> Rows:
        o = [p.outcomes for p in parts]
        return Rows(
            Outcomes(
                *(
                    np.concatenate([getattr(x, f) for x in o])
                    for f in ("distance", "margin", "performers", "correct", "stranger")
                )
            ),
            *(
                np.concatenate([getattr(p, f) for p in parts])
                for f in ("identity", "kind", "size", "top_col", "query")
            ),
        )

    def subset(self, mask: np.ndarray) -> Rows:
        return Rows(
            self.outcomes.subset(mask),
            self.identity[mask],
            self.kind[mask],
            self.size[mask],
            self.top_col[mask],
            self.query[mask],
        )


def outcomes_of(
    faces: Faces,
    queries: np.ndarray,
    kinds: np.ndarray,
    gallery: np.ndarray,
    weights: dict[str, float],
) -> Rows:
    """Each query against `gallery` columns: as itself (if its identity's enrolment is in the
    gallery) and as a stranger (its identity masked). Own-identity photos other than the enrolment
    (`0.jpg`, or the single photo) are always masked."""
    d = distance(faces, queries, gallery, weights)
    same = faces.identity[queries][:, None] == faces.identity[gallery][None, :]
    enrolment = same & (faces.file[gallery][None, :] == "0.jpg")
    # the query photo itself and its identity's other photos are never in the database
    d_enrolled = np.where(same & ~enrolment, np.inf, d)
    has = enrolment.any(axis=1) & (kinds != "single")
    d_stranger = np.where(same, np.inf, d)
    parts: list[Rows] = []
    n = len(gallery)
    for as_stranger, dd, rows in ((False, d_enrolled, has), (True, d_stranger, np.ones_like(has))):
        idx = np.nonzero(rows)[0]
        col, d1, d2 = top2(dd[idx])
        correct = same[idx, col] if not as_stranger else np.zeros(len(idx), bool)
        parts.append(
            Rows(
                Outcomes.of(d1, d2 - d1, n, correct, np.full(len(idx), as_stranger)),
                faces.identity[queries][idx],
                kinds[idx],
                np.full(len(idx), n),
                gallery[col],
                queries[idx],
            )
        )
    return Rows.concat(parts)


@dataclass
class Tiered:
    """One way of ranking (weights) run on both galleries, with its K held-out rules."""

    protocol: Rows
    scale: Rows
    rules: list[Rule]
    final: Rule

    def held_out(self, rows: Rows, folds: dict[str, int]) -> np.ndarray:
        """Each row's tier from the rule fitted without that row's identity."""
        fold = np.array([folds[i] for i in rows.identity])
        out = np.zeros(len(rows.identity), dtype=np.int64)
        for k, rule in enumerate(self.rules):
            at = fold == k
            out[at] = tiers_of(rule, rows.outcomes.subset(at))
        return out


def run(faces: Faces, kinds: np.ndarray, weights: dict[str, float], folds: dict[str, int],
        per_decade: dict[str, float] | None = None) -> Tiered:  # fmt: skip
    lfw = kinds != "hard"
    rng = np.random.default_rng(SEED)
    protocol_gallery = np.nonzero((kinds == "enrolment") | (kinds == "single"))[0]
    queries = np.nonzero(kinds != "enrolment")[0]
    protocol = outcomes_of(faces, queries, kinds[queries], protocol_gallery, weights)
    all_photos = np.nonzero(lfw)[0]
    sizes = [s for s in SIZES if s < len(all_photos)] + [len(all_photos)]
    scale = Rows.concat(
        [
            outcomes_of(
                faces,
                queries,
                kinds[queries],
                np.sort(rng.choice(all_photos, size, replace=False)),
                weights,
            )
            for size in sizes
        ]
    )
    fit_rows = Rows.concat([scale, protocol])
    fold = np.array([folds[i] for i in fit_rows.identity])
    rules = [fit_rule(fit_rows.outcomes.subset(fold != k), per_decade=per_decade)
             for k in range(FOLDS)]  # fmt: skip
    final = fit_rule(fit_rows.outcomes, per_decade=per_decade)
    return Tiered(protocol, scale, rules, final)


def labels(faces: Faces) -> np.ndarray:
    """What each face is in the study: enrolment, plain, hard or single (a one-photo identity)."""
    lfw = faces.set_name != "lfw-dev-hard-queries"
    ids, counts = np.unique(faces.identity[lfw], return_counts=True)
    photos = dict(zip(ids, counts, strict=True))
    multi = np.array([photos.get(i, 0) > 1 for i in faces.identity])
    kinds = np.where(~lfw, "hard", np.where(multi, "plain", "single")).astype("<U9")
    kinds[lfw & multi & (faces.file == "0.jpg")] = "enrolment"
    return kinds


def part_mask(rows: Rows, part: str) -> np.ndarray:
    """Plain: plain queries and their strangers plus the one-photo strangers; hard: hard ones."""
    if part == "hard":
        return rows.kind == "hard"
    return rows.kind != "hard"


def rank1_right(faces: Faces, kinds: np.ndarray, weights: dict[str, float]) -> Rows:
    """Every enrolled query (plain and hard) against the protocol gallery: whether its top match
    is right (`outcomes.correct`), with its identity for splitting by fold."""
    gallery = np.nonzero((kinds == "enrolment") | (kinds == "single"))[0]
    queries = np.nonzero((kinds == "plain") | (kinds == "hard"))[0]
    rows = outcomes_of(faces, queries, kinds[queries], gallery, weights)
    return rows.subset(~rows.outcomes.stranger)


def choose_fusion(faces: Faces, kinds: np.ndarray, folds: dict[str, int]) -> dict[str, Any]:
    """The fusion weight, held out by identity: for each fold, the dlib share with the best rank-1
    (plain and hard queries together) on the other folds' identities, and that choice's rank-1 on
    the fold itself; the default is the share chosen on all folds."""
    grid = {share: {"sface": round(1 - share, 2), "dlib": share} for share in DLIB_SHARES}
    rows = {share: rank1_right(faces, kinds, w) for share, w in grid.items()}
    any_rows = next(iter(rows.values()))
    fold = np.array([folds[i] for i in any_rows.identity])
    kind = any_rows.kind
    per_fold = []
    held_right = np.zeros(len(fold), bool)
    for k in range(FOLDS):
        train = fold != k
        best = max(grid, key=lambda sh: (rows[sh].outcomes.correct[train].mean(), -abs(sh - 0.75)))
        held_right[~train] = rows[best].outcomes.correct[~train]
        per_fold.append({"fold": k, "dlib_share": best})
    chosen = max(grid, key=lambda sh: (rows[sh].outcomes.correct.mean(), -abs(sh - 0.75)))
    out: dict[str, Any] = {
        "chosen": grid[chosen],
        "per_fold": per_fold,
        "held_out_rank1": {
            part: round(float(held_right[kind == part].mean()), 4) for part in ("plain", "hard")
        },
        "grid_rank1": {
            f"sface={grid[sh]['sface']} dlib={sh}": {
                part: round(float(rows[sh].outcomes.correct[kind == part].mean()), 4)
                for part in ("plain", "hard")
            }
            for sh in grid
        },
        "compared_rank1": {},
    }
    for label, weights in COMPARED.items():
        if all(n in faces.vectors for n in weights):
            r = rank1_right(faces, kinds, weights)
            out["compared_rank1"][label] = {
                part: round(float(r.outcomes.correct[r.kind == part].mean()), 4)
                for part in ("plain", "hard")
            }
    return out


def study(weights: dict[str, float] | None = None, flip: bool = False,
          first: str | None = "sface") -> dict[str, Any]:  # fmt: skip
    """The whole study for one fusion (default: chosen by `choose_fusion`); with `first`, also
    the identify cascade's rule."""
    faces = gather(flip)
    kinds = labels(faces)
    folds = folds_by_identity([str(i) for i in faces.identity], FOLDS, SEED)
    fusion: dict[str, Any] | None = None
    if weights is None:
        fusion = choose_fusion(faces, kinds, folds)
        weights = fusion["chosen"]
    fused = run(faces, kinds, weights, folds)
    result: dict[str, Any] = {"weights": weights, "flip": flip, "folds": FOLDS, "fusion": fusion}
    n_protocol = int(fused.protocol.size[0])
    result["protocol"] = {"performers": n_protocol}
    held = fused.held_out(fused.protocol, folds)
    for part in ("plain", "hard"):
        m = part_mask(fused.protocol, part)
        result["protocol"][part] = band_report(held[m], fused.protocol.outcomes.subset(m))
    result["scale"] = {}
    scale_held = fused.held_out(fused.scale, folds)
    for size in np.unique(fused.scale.size):
        m = (fused.scale.size == size) & part_mask(fused.scale, "plain")
        result["scale"][str(int(size))] = band_report(scale_held[m], fused.scale.outcomes.subset(m))
    result["trend"] = trend(result["scale"], EXTRAPOLATE)
    result["rule"] = fused.final.as_dict()
    result["rule_distances"] = {
        str(n): describe(fused.final, n) for n in (n_protocol, *EXTRAPOLATE)
    }
    result["in_sample"] = {
        part: tier_report(
            fused.final, fused.protocol.subset(part_mask(fused.protocol, part)).outcomes
        )
        for part in ("plain", "hard")
    }
    result["wrong_high"] = wrong_high(fused.protocol, held, faces)
    if first:
        alone = run(faces, kinds, {first: 1.0}, folds)
        result["first"] = {"embedder": first, "rule": alone.final.as_dict()}
        first_held = alone.held_out(alone.protocol, folds)
        decided = first_held == 0
        tier = np.where(decided, 0, held)
        combined = Outcomes(
            fused.protocol.outcomes.distance,
            fused.protocol.outcomes.margin,
            fused.protocol.outcomes.performers,
            np.where(decided, alone.protocol.outcomes.correct, fused.protocol.outcomes.correct),
            fused.protocol.outcomes.stranger,
        )
        for part in ("plain", "hard"):
            m = part_mask(fused.protocol, part)
            enrolled = m & ~fused.protocol.outcomes.stranger
            result["first"][part] = {
                "decided_share": round(float(decided[enrolled].mean()), 4),
                "decided_precision": _ratio(
                    combined.correct[enrolled & decided],
                ),
                "strangers_decided_share": round(
                    float(decided[m & fused.protocol.outcomes.stranger].mean()), 4
                ),
                "cascade": band_report(tier[m], combined.subset(m)),
            }
        result["_first_rule"] = alone.final
    result["_fused_rule"] = fused.final
    return result


def _ratio(flags: np.ndarray) -> float | None:
    return round(float(flags.mean()), 4) if flags.size else None


def wrong_high(rows: Rows, held: np.ndarray, faces: Faces) -> list[dict[str, Any]]:
    """Every enrolled query called "high" (held out) whose top match was someone else: to look at
    (LFW has wrong labels) and count, not to tune away."""
    bad = (held == 0) & ~rows.outcomes.stranger & ~rows.outcomes.correct
    return [
        {
            "query": f"{faces.set_name[q]}/{faces.identity[q]}/{faces.file[q]}",
            "top": f"{faces.set_name[c]}/{faces.identity[c]}/{faces.file[c]}",
            "distance": round(float(d), 4),
            "margin": round(float(m), 4),
        }
        for q, c, d, m in zip(
            rows.query[bad],
            rows.top_col[bad],
            rows.outcomes.distance[bad],
            rows.outcomes.margin[bad],
            strict=True,
        )
    ]


def trend(scale: dict[str, Any], at: tuple[int, ...]) -> dict[str, Any]:
    """Least-squares lines over log10(size) of the held-out figures, evaluated at `at`."""
    x = np.log10(np.array([int(s) for s in scale], dtype=np.float64))
    series = {
        "high_precision": [scale[s]["high"]["precision"] or 1.0 for s in scale],
        "high_share": [scale[s]["high"]["share"] or 0.0 for s in scale],
        "high_stranger_share": [scale[s]["high"]["stranger_share"] or 0.0 for s in scale],
        "likely_precision": [scale[s]["likely"]["precision"] or 1.0 for s in scale],
        "rank1": [scale[s]["rank1"] for s in scale],
    }
    out: dict[str, Any] = {}
    for name, ys in series.items():
        slope, icpt = np.polyfit(x, np.asarray(ys, dtype=np.float64), 1)
        out[name] = {
            "per_decade": round(float(slope), 5),
            **{str(n): round(float(min(max(icpt + slope * np.log10(n), 0.0), 1.0)), 4) for n in at},
        }
    return out


def main() -> int:
    started = time.perf_counter()
    result = study()
    result = {k: v for k, v in result.items() if not k.startswith("_")}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS} ({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
