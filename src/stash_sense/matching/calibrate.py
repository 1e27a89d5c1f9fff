"""Calibration: tier thresholds chosen from the top-1 distances of a labelled development set.

A query's top-1 match is *genuine* when it is the right performer and an *impostor* otherwise
(wrong performer, or a person not in the database at all). For each tier we take the largest
threshold t such that, among dev queries whose top-1 distance is <= t, the share of genuine ones
(precision) reaches the tier's target.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from stash_sense.database import Tiers

TARGETS: dict[str, float] = {"high": 0.995, "likely": 0.95, "possible": 0.80}


def precision_at(genuine: np.ndarray, impostor: np.ndarray, threshold: float) -> tuple[float, int]:
    """(precision, accepted count) of top-1 matches at or below `threshold`."""
    g = int((genuine <= threshold).sum())
    i = int((impostor <= threshold).sum())
    return (g / (g + i) if g + i else 1.0), g + i


def calibrate(
    genuine: Sequence[float],
    impostor: Sequence[float],
    targets: Mapping[str, float] | None = None,
) -> Tiers:
    """Tiers whose thresholds meet the precision targets on these distances, with what was measured.

    `genuine`: top-1 distances of queries whose top-1 was right; `impostor`: of the others.
    """
    targets = dict(targets or TARGETS)
    g = np.sort(np.asarray(genuine, dtype=np.float64))
    imp = np.sort(np.asarray(impostor, dtype=np.float64))
    if g.size == 0:
        raise ValueError("calibration needs at least one correctly matched query")
    values = np.concatenate([g, imp])
    labels = np.concatenate([np.ones(g.size), np.zeros(imp.size)])
    order = np.argsort(values, kind="stable")
    values, labels = values[order], labels[order]
    cum_true = np.cumsum(labels)
    precision = cum_true / np.arange(1, values.size + 1)
    # a threshold may only sit at the last of equal distances
    last_of_run = np.append(values[1:] != values[:-1], True)
    thresholds: dict[str, float] = {}
    report: dict[str, Any] = {}
    floor = 0.0
    for tier in ("high", "likely", "possible"):
        ok = np.nonzero((precision >= targets[tier]) & last_of_run)[0]
        t = float(values[ok[-1]]) if ok.size else 0.0
        t = max(t, floor)
        floor = t
        thresholds[tier] = t
        prec, accepted = precision_at(g, imp, thresholds[tier])
        report[tier] = {
            "target_precision": targets[tier],
            "precision": round(prec, 4),
            "accepted": accepted,
            "share_of_queries": round(accepted / values.size, 4),
            "recall_of_correct": round(float((g <= thresholds[tier]).mean()), 4),
        }
    report["n_correct_top1"] = int(g.size)
    report["n_wrong_top1"] = int(imp.size)
    report["method"] = "largest threshold whose cumulative top-1 precision meets the target"
    return Tiers(
        high=thresholds["high"],
        likely=thresholds["likely"],
        possible=thresholds["possible"],
        calibration=report,
    )


def tier_report(
    genuine: Sequence[float], impostor: Sequence[float], tiers: Tiers
) -> dict[str, Any]:
    """Precision and share of queries per tier band (high, likely, possible, none) on a test set."""
    g = np.asarray(genuine, dtype=np.float64)
    imp = np.asarray(impostor, dtype=np.float64)
    total = g.size + imp.size
    out: dict[str, Any] = {}
    low = -np.inf
    for tier, high in (
        ("high", tiers.high),
        ("likely", tiers.likely),
        ("possible", tiers.possible),
        ("unlikely", np.inf),
    ):
        ng = int(((g > low) & (g <= high)).sum())
        ni = int(((imp > low) & (imp <= high)).sum())
        out[tier] = {
            "queries": ng + ni,
            "share": round((ng + ni) / total, 4) if total else 0.0,
            "precision": round(ng / (ng + ni), 4) if ng + ni else None,
        }
        low = high
    return out
