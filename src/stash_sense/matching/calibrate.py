"""Calibration: fit the tier rule (matching/tiers.py) on labelled top-1 outcomes.

Each outcome is one query's top match: its evidence (distance, margin to the best other
performer, database size), whether it was right, and whether the query was a *stranger* (a
person not in the database, whose top match is always wrong). Most faces in a user's library may
belong to nobody in the database, so precision among enrolled people is not enough.

1. A logistic model of "the top match is right" over distance and margin (its log-odds is the
   rule's score), fitted with strangers weighted to count as much as all enrolled queries.
2. At each database size among the outcomes, each tier's cut on the score: the lowest at which
   the enrolled queries in the tier's band reach the tier's precision target (`TARGETS`) while
   at most the tier's share of strangers (`STRANGER_RATES`, cumulative) gets in.
3. Each tier's cut as a straight line over log10(size), least squares over those sizes, never
   falling as the database grows; with a single size, the line keeps `per_decade` as given.

The figures a caller reports must come from outcomes the rule was not fitted on (split by
identity); `tier_report` measures a rule on any outcomes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from stash_sense.matching.tiers import GRADED, MARGIN_CAP, TIER_NAMES, Cut, Rule

#: band precision a tier must reach among enrolled queries (fitted a little above the stated
#: product targets of 99.5% and 90%, so that held-out figures keep them)
TARGETS: dict[str, float] = {"high": 0.997, "likely": 0.95, "possible": 0.80}
#: the largest share of strangers a tier (and those above it) may take in
STRANGER_RATES: dict[str, float] = {"high": 0.005, "likely": 0.02, "possible": 0.10}
RIDGE = 1e-3


@dataclass
class Outcomes:
    """Top-1 outcomes as parallel arrays (one row per query, per database size it was run at)."""

    distance: npt.NDArray[np.float64]
    margin: npt.NDArray[np.float64]
    performers: npt.NDArray[np.float64]
    correct: npt.NDArray[np.bool_]
    stranger: npt.NDArray[np.bool_]

    @classmethod
    def of(
        cls,
        distance: Any,
        margin: Any,
        performers: Any,
        correct: Any,
        stranger: Any,
    ) -> Outcomes:
        n = np.asarray(distance).shape[0]
        return cls(
            np.asarray(distance, np.float64).reshape(n),
            np.asarray(margin, np.float64).reshape(n),
            np.broadcast_to(np.asarray(performers, np.float64), (n,)).copy(),
            np.asarray(correct, bool).reshape(n) & ~np.asarray(stranger, bool).reshape(n),
            np.asarray(stranger, bool).reshape(n),
        )

    def __len__(self) -> int:
        return int(self.distance.shape[0])

    def subset(self, mask: npt.NDArray[np.bool_]) -> Outcomes:
        return Outcomes(
            self.distance[mask],
            self.margin[mask],
            self.performers[mask],
            self.correct[mask],
            self.stranger[mask],
        )

    def features(self) -> npt.NDArray[np.float64]:
        return np.stack([self.distance, np.clip(self.margin, -MARGIN_CAP, MARGIN_CAP)], axis=1)


def scores(rule: Rule, outcomes: Outcomes) -> npt.NDArray[np.float64]:
    return np.asarray(rule.intercept + outcomes.features() @ np.asarray(rule.coef))


def tiers_of(rule: Rule, outcomes: Outcomes) -> npt.NDArray[np.int64]:
    """Each outcome's tier as an index into TIER_NAMES."""
    s = scores(rule, outcomes)
    out = np.full(len(outcomes), len(GRADED), dtype=np.int64)
    for size in np.unique(outcomes.performers):
        at = outcomes.performers == size
        for i in reversed(range(len(GRADED))):
            out[at & (s >= rule.cut(GRADED[i], int(size)))] = i
    return out


def _logistic(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], w: npt.NDArray[np.float64]
              ) -> tuple[float, npt.NDArray[np.float64]]:  # fmt: skip
    """Weighted logistic regression by Newton's method (a small ridge keeps it finite)."""
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    xs = np.hstack([np.ones((x.shape[0], 1)), (x - mean) / scale])
    beta = np.zeros(xs.shape[1])
    ridge = RIDGE * w.sum() * np.eye(xs.shape[1])
    ridge[0, 0] = 0.0
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-np.clip(xs @ beta, -50, 50)))
        grad = xs.T @ (w * (p - y)) + ridge @ beta
        hess = (xs * (w * p * (1 - p))[:, None]).T @ xs + ridge
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    coef = beta[1:] / scale
    return float(beta[0] - (coef * mean).sum()), coef


def _cuts(
    score: npt.NDArray[np.float64],
    outcomes: Outcomes,
    targets: Mapping[str, float],
    rates: Mapping[str, float],
) -> dict[str, float]:
    """Each tier's lowest cut meeting its band precision and cumulative stranger share."""
    order = np.argsort(-score, kind="stable")
    s = score[order]
    enrolled = (~outcomes.stranger)[order].astype(np.int64)
    right = outcomes.correct[order].astype(np.int64)
    strangers = np.cumsum(outcomes.stranger[order]) / max(int(outcomes.stranger.sum()), 1)
    cum_enrolled, cum_right = np.cumsum(enrolled), np.cumsum(right)
    last_of_run = np.append(s[1:] != s[:-1], True)  # a cut sits at the last of equal scores
    cuts: dict[str, float] = {}
    start = 0  # rows above the tier above
    upper = float(s[0]) + 1e-6 if s.size else 0.0
    for tier in GRADED:
        base_e = cum_enrolled[start - 1] if start else 0
        base_r = cum_right[start - 1] if start else 0
        n = cum_enrolled[start:] - base_e
        r = cum_right[start:] - base_r
        with np.errstate(invalid="ignore", divide="ignore"):
            precision = np.where(n > 0, r / np.maximum(n, 1), 1.0)
        ok = (precision >= targets[tier]) & (strangers[start:] <= rates[tier]) & last_of_run[start:]
        # the stranger share only grows as the cut falls: stop at its first breach
        breach = np.nonzero(strangers[start:] > rates[tier])[0]
        if breach.size:
            ok[breach[0] :] = False
        hits = np.nonzero(ok)[0]
        if hits.size:
            start = start + int(hits[-1]) + 1
            upper = float(s[start - 1])
        cuts[tier] = upper
    return cuts


def fit_rule(
    outcomes: Outcomes,
    targets: Mapping[str, float] | None = None,
    stranger_rates: Mapping[str, float] | None = None,
    per_decade: Mapping[str, float] | None = None,
) -> Rule:
    """The rule fitted on these outcomes (see the module docstring)."""
    targets = {**TARGETS, **(targets or {})}
    rates = {**STRANGER_RATES, **(stranger_rates or {})}
    if not outcomes.correct.any():
        raise ValueError("calibration needs at least one correctly matched query")
    if outcomes.correct.all():
        raise ValueError("calibration needs wrong matches or strangers as well as right ones")
    n_enrolled = max(int((~outcomes.stranger).sum()), 1)
    n_strangers = int(outcomes.stranger.sum())
    weights = np.ones(len(outcomes))
    if n_strangers:
        weights[outcomes.stranger] = n_enrolled / n_strangers
    intercept, coef = _logistic(outcomes.features(), outcomes.correct.astype(np.float64), weights)
    if coef[0] >= 0:
        raise ValueError("these outcomes do not show right matches closer than wrong ones")
    flat: dict[str, Cut] = {t: Cut(0.0) for t in GRADED}
    rule = Rule(intercept, (float(coef[0]), float(coef[1])), flat)
    s = scores(rule, outcomes)
    sizes = np.unique(outcomes.performers)
    per_size = [_cuts(s[outcomes.performers == n], outcomes.subset(outcomes.performers == n),
                      targets, rates) for n in sizes]  # fmt: skip
    x = np.log10(np.maximum(sizes, 2))
    cuts: dict[str, Cut] = {}
    for tier in GRADED:
        y = np.array([c[tier] for c in per_size])
        if len(sizes) > 1 and np.ptp(x) > 0:
            slope = max(float(np.polyfit(x, y, 1)[0]), 0.0)
        else:
            slope = max(float((per_decade or {}).get(tier, 0.0)), 0.0)
        cuts[tier] = Cut(float(np.mean(y - slope * x)), slope)
    return Rule(rule.intercept, rule.coef, cuts)


def tier_report(rule: Rule, outcomes: Outcomes) -> dict[str, Any]:
    """Per tier band: enrolled queries in it, their share and precision, and strangers let in."""
    return band_report(tiers_of(rule, outcomes), outcomes)


def band_report(tier: npt.NDArray[np.int64], outcomes: Outcomes) -> dict[str, Any]:
    """`tier_report` for tiers already decided (indices into TIER_NAMES)."""
    enrolled = ~outcomes.stranger
    n_enrolled = int(enrolled.sum())
    n_strangers = int(outcomes.stranger.sum())
    out: dict[str, Any] = {}
    for i, name in enumerate(TIER_NAMES):
        band = tier == i
        q = int((band & enrolled).sum())
        right = int((band & outcomes.correct).sum())
        s = int((band & outcomes.stranger).sum())
        out[name] = {
            "queries": q,
            "right": right,
            "share": round(q / n_enrolled, 4) if n_enrolled else None,
            "precision": round(right / q, 4) if q else None,
            "strangers": s,
            "stranger_share": round(s / n_strangers, 4) if n_strangers else None,
        }
    out["n_queries"] = n_enrolled
    out["n_strangers"] = n_strangers
    out["rank1"] = round(float(outcomes.correct[enrolled].mean()), 4) if n_enrolled else None
    return out


def describe(rule: Rule, performers: int) -> dict[str, Any]:
    """The distance each tier allows at this database size, for a clear and a close runner-up."""
    return {
        tier: {
            f"margin_{m}": round(rule.max_distance(tier, m, performers), 4)
            for m in (MARGIN_CAP, 0.1, 0.05)
        }
        for tier in GRADED
    }


def folds_by_identity(identities: Sequence[str], folds: int, seed: int = 7) -> dict[str, int]:
    """A fold per identity (a seeded shuffle of the names), so no identity spans two folds."""
    names = sorted(set(identities))
    order = np.random.default_rng(seed).permutation(len(names)) % folds
    return {n: int(f) for n, f in zip(names, order, strict=True)}


def cross_validate(
    outcomes: Outcomes,
    identities: Sequence[str],
    folds: int = 5,
    **fit: Any,
) -> npt.NDArray[np.int64]:
    """Each outcome's tier from a rule fitted without its identity's fold (held out)."""
    fold_of = folds_by_identity(identities, folds)
    fold = np.array([fold_of[i] for i in identities])
    out = np.zeros(len(outcomes), dtype=np.int64)
    for k in range(folds):
        at = fold == k
        if at.any():
            out[at] = tiers_of(fit_rule(outcomes.subset(~at), **fit), outcomes.subset(at))
    return out


def measured(report: Mapping[str, Any], performers: int, method: str) -> dict[str, Any]:
    """The `calibration` entry of a manifest's tiers: held-out precision per tier at a size."""
    return {
        "performers": performers,
        "method": method,
        **{
            tier: {k: report[tier][k] for k in ("precision", "share", "stranger_share", "queries")}
            for tier in TIER_NAMES
        },
        "rank1": report.get("rank1"),
        "n_queries": report.get("n_queries"),
        "n_strangers": report.get("n_strangers"),
    }
