"""Persons of several faces: may agreeing faces lift a "likely" match to "high"? Held out.

A scene's person is matched on its faces together (docs/matching.md, section 3: the mean of its
three best per-face distances) and gets its tier from the single-face rule. This study makes
synthetic persons from the face cache (bench/face_cache.py): k photos of one LFW identity
(k = 2..6, several random draws per identity; the plain photos, or the hard copies), matched
against the protocol gallery (one face per identity enrolled, as confidence_study), as itself and
as a stranger (its identity's enrolment masked). Each person's tier comes from the single-face
rule fitted without its identity's fold (confidence_study.run).

The promotion rule: a top match at "likely" becomes "high" when at least `a` of the person's
faces have it as their own nearest performer. For each fold, `a` is the smallest value with which
the promoted persons of the *other* folds are right at >= 99.7% and at most 0.5% of their
strangers are promoted (the single-face "high" targets); the figures are those of the fold itself.

    python -m bench.person_study        # seconds, once the face cache exists

Writes bench/results/persons.json.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.confidence_study import FOLDS, SEED, Faces, distance, gather, labels, run
from stash_sense.matching.calibrate import Outcomes, folds_by_identity, tiers_of
from stash_sense.matching.fusion import AGGREGATE_BEST

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "persons.json"
WEIGHTS = {"sface": 0.25, "dlib": 0.75}
SIZES = (2, 3, 4, 5, 6)
DRAWS = 3
AGREE = (2, 3, 4, 5, 6)
PRECISION = 0.997
STRANGERS = 0.005
HIGH, LIKELY = 0, 1


@dataclass
class Persons:
    """One row per (person, as itself or as a stranger)."""

    identity: np.ndarray
    kind: np.ndarray  # plain or hard
    faces: np.ndarray  # k
    stranger: np.ndarray
    correct: np.ndarray
    agree: np.ndarray  # faces whose own nearest performer is the top match
    outcomes: Outcomes


def persons(faces: Faces, kinds: np.ndarray) -> Persons:
    gallery = np.nonzero((kinds == "enrolment") | (kinds == "single"))[0]
    rng = np.random.default_rng(SEED)
    rows: dict[str, list[Any]] = {k: [] for k in ("identity", "kind", "faces", "stranger",
                                                  "correct", "agree", "d", "m")}  # fmt: skip
    for part in ("plain", "hard"):
        queries = np.nonzero(kinds == part)[0]
        d_all = distance(faces, queries, gallery, WEIGHTS)
        same_all = faces.identity[queries][:, None] == faces.identity[gallery][None, :]
        by_identity: dict[str, list[int]] = {}
        for row, ident in enumerate(faces.identity[queries]):
            by_identity.setdefault(str(ident), []).append(row)
        for ident, members in sorted(by_identity.items()):
            if not same_all[members[0]].any():
                continue  # its enrolment photo has no face
            for k in SIZES:
                if len(members) < k:
                    continue
                draws = 1 if len(members) == k else DRAWS
                for _ in range(draws):
                    pick = rng.choice(members, k, replace=False)
                    for as_stranger in (False, True):
                        d = d_all[pick]
                        if as_stranger:
                            d = np.where(same_all[pick], np.inf, d)
                        m = max(1, min(AGGREGATE_BEST, k))
                        score = np.sort(d, axis=0)[:m].mean(axis=0)
                        order = np.argsort(score)
                        top, second = order[0], order[1]
                        rows["identity"].append(ident)
                        rows["kind"].append(part)
                        rows["faces"].append(k)
                        rows["stranger"].append(as_stranger)
                        rows["correct"].append(bool(same_all[pick[0], top]) and not as_stranger)
                        rows["agree"].append(int((np.argmin(d, axis=1) == top).sum()))
                        rows["d"].append(float(score[top]))
                        rows["m"].append(float(score[second] - score[top]))
    n = len(gallery)
    return Persons(
        identity=np.array(rows["identity"]),
        kind=np.array(rows["kind"]),
        faces=np.array(rows["faces"]),
        stranger=np.array(rows["stranger"]),
        correct=np.array(rows["correct"]),
        agree=np.array(rows["agree"]),
        outcomes=Outcomes.of(rows["d"], rows["m"], n, rows["correct"], rows["stranger"]),
    )


def promoted(p: Persons, tier: np.ndarray, a: int) -> np.ndarray:
    return (tier == LIKELY) & (p.agree >= a)


def acceptable(p: Persons, tier: np.ndarray, a: int, mask: np.ndarray) -> bool:
    up = promoted(p, tier, a) & mask
    enrolled = up & ~p.stranger
    strangers = mask & p.stranger
    high = ((tier == HIGH) | up) & mask & ~p.stranger
    precise = p.correct[high].mean() >= PRECISION if high.any() else True
    let_in = ((tier == HIGH) | up)[strangers].mean() <= STRANGERS if strangers.any() else True
    return bool(enrolled.any()) and precise and let_in


def report(p: Persons, tier: np.ndarray, up: np.ndarray, mask: np.ndarray) -> dict[str, Any]:
    enrolled = mask & ~p.stranger
    strangers = mask & p.stranger
    high_before = (tier == HIGH) & enrolled
    high_after = ((tier == HIGH) | up) & enrolled
    lifted = up & enrolled
    return {
        "persons": int(enrolled.sum()),
        "identities": len(set(p.identity[enrolled])),
        "likely": int(((tier == LIKELY) & enrolled).sum()),
        "promoted": int(lifted.sum()),
        "promoted_right": int((lifted & p.correct).sum()),
        "high_share_before": round(float(high_before.sum() / max(enrolled.sum(), 1)), 4),
        "high_share_after": round(float(high_after.sum() / max(enrolled.sum(), 1)), 4),
        "high_precision_after": round(float(p.correct[high_after].mean()), 5)
        if high_after.any()
        else None,
        "strangers": int(strangers.sum()),
        "strangers_high_before": int(((tier == HIGH) & strangers).sum()),
        "strangers_promoted": int((up & strangers).sum()),
    }


def main() -> int:
    faces = gather()
    kinds = labels(faces)
    folds = folds_by_identity([str(i) for i in faces.identity], FOLDS, SEED)
    fused = run(faces, kinds, WEIGHTS, folds)
    p = persons(faces, kinds)
    fold = np.array([folds[i] for i in p.identity])
    tier = np.zeros(len(fold), np.int64)
    for k, rule in enumerate(fused.rules):
        at = fold == k
        tier[at] = tiers_of(rule, p.outcomes.subset(at))
    up = np.zeros(len(fold), bool)
    chosen: list[int | None] = []
    for k in range(FOLDS):
        train = fold != k
        a = next((a for a in AGREE if acceptable(p, tier, a, train)), None)
        chosen.append(a)
        if a is not None:
            up[~train] = promoted(p, tier, a)[~train]
    final = next((a for a in AGREE if acceptable(p, tier, a, np.ones(len(fold), bool))), None)
    result: dict[str, Any] = {
        "performers": int(p.outcomes.performers[0]) if len(fold) else 0,
        "weights": WEIGHTS,
        "min_agreeing_per_fold": chosen,
        "min_agreeing_all_folds": final,
        "held_out": {},
    }
    for part in ("plain", "hard"):
        sizes: tuple[int | None, ...] = (None, *SIZES)
        for size in sizes:
            mask = p.kind == part
            if size is not None:
                mask = mask & (p.faces == size)
            if mask.any():
                key = f"{part}" + ("" if size is None else f", {size} faces")
                result["held_out"][key] = report(p, tier, up, mask)
    # the trade-off at each fixed `a` (every fold's persons, with their held-out single-face tier)
    everyone = np.ones(len(fold), bool)
    result["by_min_agreeing"] = {
        str(a): {
            part: report(p, tier, promoted(p, tier, a), everyone & (p.kind == part))
            for part in ("plain", "hard")
        }
        for a in AGREE
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "held_out"}))
    for key, value in result["held_out"].items():
        print(key, value)
    return 0


if __name__ == "__main__":
    sys.exit(main())
