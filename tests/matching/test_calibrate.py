"""Calibration of the tier rule from labelled top-1 outcomes (enrolled queries and strangers)."""

from __future__ import annotations

import numpy as np
import pytest

from stash_sense.matching import Outcomes, fit_rule, tier_report
from stash_sense.matching.calibrate import (
    STRANGER_RATES,
    TARGETS,
    band_report,
    cross_validate,
    folds_by_identity,
    measured,
)
from stash_sense.matching.tiers import Evidence, Tiers


def _world(seed: int, n: int = 3000, performers: float = 1000) -> Outcomes:
    """Right matches close with a clear margin; wrong ones and strangers farther, margin small."""
    rng = np.random.default_rng(seed)
    right = rng.random(n) < 0.9
    distance = np.where(right, rng.normal(0.40, 0.07, n), rng.normal(0.62, 0.05, n))
    margin = np.where(right, rng.gamma(2.0, 0.08, n), rng.gamma(1.2, 0.03, n))
    sd = rng.normal(0.64, 0.05, n)
    sm = rng.gamma(1.2, 0.03, n)
    return Outcomes.of(
        np.concatenate([distance, sd]),
        np.concatenate([margin, sm]),
        performers,
        np.concatenate([right, np.zeros(n, bool)]),
        np.concatenate([np.zeros(n, bool), np.ones(n, bool)]),
    )


def test_each_tier_meets_its_targets_on_what_it_was_fitted_on() -> None:
    data = _world(3)
    rule = fit_rule(data)
    report = tier_report(rule, data)
    assert report["high"]["precision"] >= TARGETS["high"]
    assert report["high"]["share"] > 0.5
    assert report["likely"]["queries"] == 0 or report["likely"]["precision"] >= TARGETS["likely"]
    assert report["high"]["stranger_share"] <= STRANGER_RATES["high"]
    let_in = report["high"]["stranger_share"] + report["likely"]["stranger_share"]
    assert let_in <= STRANGER_RATES["likely"] + 1e-9
    assert report["n_strangers"] == 3000 and report["n_queries"] == 3000


def test_held_out_figures_come_from_rules_that_never_saw_the_identity() -> None:
    data = _world(4)
    identities = [f"id{i % 700}" for i in range(len(data))]
    folds = folds_by_identity(identities, 5)
    assert set(folds.values()) == set(range(5))
    held = cross_validate(data, identities, 5)
    report = band_report(held, data)
    assert report["high"]["precision"] >= 0.99
    entry = measured(report, 1000, "test")
    assert entry["performers"] == 1000 and entry["high"]["precision"] == report["high"]["precision"]


def test_a_margin_counts_and_a_larger_database_asks_more() -> None:
    small, large = _world(5, performers=500), _world(6, performers=50_000)
    large.distance[large.stranger] -= 0.05  # a stranger's nearest comes closer in a larger one
    both = Outcomes(*(np.concatenate([getattr(small, f), getattr(large, f)]) for f in
                      ("distance", "margin", "performers", "correct", "stranger")))  # fmt: skip
    rule = fit_rule(both)
    assert rule.coef[0] < 0 < rule.coef[1]
    assert rule.cuts["high"].per_decade > 0
    tiers = Tiers(fused=rule)
    clear, close = Evidence(0.45, 0.25, 500), Evidence(0.45, 0.01, 500)
    assert rule.score(clear) > rule.score(close)
    assert rule.max_distance("high", 0.1, 50_000) < rule.max_distance("high", 0.1, 500)
    assert tiers.tier(Evidence(0.2, 0.3, 500)) == "high"
    assert tiers.tier(Evidence(0.9, -0.1, 500)) == "unlikely"


def test_nothing_to_learn_from_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least one"):
        fit_rule(Outcomes.of([0.3], [0.1], 10, [False], [False]))
    with pytest.raises(ValueError, match="wrong matches or strangers"):
        fit_rule(Outcomes.of([0.3, 0.4], [0.1, 0.1], 10, [True, True], [False, False]))
