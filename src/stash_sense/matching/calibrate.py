"""Calibration: tier thresholds chosen from the top-1 distances of a labelled development set.

A query's top-1 match is *genuine* when it is the right performer and an *impostor* otherwise
(wrong performer, or a person not in the database at all). For each tier we take the largest
threshold t such that, among dev queries whose top-1 distance is <= t, the share of genuine ones
(precision) reaches the tier's target.

Most faces in a user's library belong to nobody in the database, so precision among enrolled
people is not enough: given *stranger* distances (the best match of a query whose own identity is
left out of the database), each threshold is also capped so that at most a set share of strangers
falls at or below it (`STRANGER_RATES`: 0.5% for high, 5% for likely, 20% for possible).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from stash_sense.database import Tiers

TARGETS: dict[str, float] = {"high": 0.995, "likely": 0.95, "possible": 0.80}
#: the largest share of strangers (people not in the database) a tier may take in
STRANGER_RATES: dict[str, float] = {"high": 0.005, "likely": 0.05, "possible": 0.20}


def stranger_cap(strangers: np.ndarray, rate: float) -> float:
    """The largest threshold that lets at most `rate` of these (sorted) stranger distances in."""
    allowed = int(np.floor(rate * strangers.size))
    if allowed >= strangers.size:
        return float("inf")
    return float(np.nextafter(strangers[allowed], -np.inf))


def precision_at(genuine: np.ndarray, impostor: np.ndarray, threshold: float) -> tuple[float, int]:
    """(precision, accepted count) of top-1 matches at or below `threshold`."""
    g = int((genuine <= threshold).sum())
    i = int((impostor <= threshold).sum())
    return (g / (g + i) if g + i else 1.0), g + i


def calibrate(
    genuine: Sequence[float],
    impostor: Sequence[float],
    targets: Mapping[str, float] | None = None,
    strangers: Sequence[float] | None = None,
    stranger_rates: Mapping[str, float] | None = None,
) -> Tiers:
    """Tiers whose thresholds meet the precision targets on these distances, with what was measured.

    `genuine`: top-1 distances of queries whose top-1 was right; `impostor`: of the others;
    `strangers`: best distances of queries of people left out of the database (optional).
    """
    targets = dict(targets or TARGETS)
    rates = dict(stranger_rates or STRANGER_RATES)
    s = np.sort(np.asarray(strangers if strangers is not None else [], dtype=np.float64))
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
        if s.size:
            t = min(t, stranger_cap(s, rates[tier]))
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
        if s.size:
            report[tier]["stranger_rate_target"] = rates[tier]
            report[tier]["stranger_rate"] = round(float((s <= t).mean()), 4)
    report["n_correct_top1"] = int(g.size)
    report["n_wrong_top1"] = int(imp.size)
    report["method"] = "largest threshold whose cumulative top-1 precision meets the target"
    if s.size:
        report["n_strangers"] = int(s.size)
        report["method"] += ", capped so that at most the target share of strangers is let in"
    return Tiers(
        high=thresholds["high"],
        likely=thresholds["likely"],
        possible=thresholds["possible"],
        calibration=report,
    )


def tier_report(
    genuine: Sequence[float],
    impostor: Sequence[float],
    tiers: Tiers,
    strangers: Sequence[float] | None = None,
) -> dict[str, Any]:
    """Precision and share of queries per tier band (high, likely, possible, unlikely) on a test
    set; with `strangers`, also the share of them that lands in each band."""
    g = np.asarray(genuine, dtype=np.float64)
    imp = np.asarray(impostor, dtype=np.float64)
    s = np.asarray(strangers if strangers is not None else [], dtype=np.float64)
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
        if s.size:
            ns = int(((s > low) & (s <= high)).sum())
            out[tier]["strangers"] = ns
            out[tier]["stranger_share"] = round(ns / s.size, 4)
        low = high
    return out
