"""Calibration of tier thresholds from genuine and impostor top-1 distances."""

from __future__ import annotations

import numpy as np
import pytest

from stash_sense.database import Tiers
from stash_sense.matching import calibrate, tier_report
from stash_sense.matching.calibrate import precision_at


def test_thresholds_meet_their_precision_targets() -> None:
    rng = np.random.default_rng(3)
    genuine = rng.normal(0.35, 0.08, 2000)
    impostor = rng.normal(0.75, 0.08, 600)
    tiers = calibrate(genuine, impostor)
    assert tiers.high <= tiers.likely <= tiers.possible
    for tier, target in (("high", 0.995), ("likely", 0.95), ("possible", 0.80)):
        precision, accepted = precision_at(genuine, impostor, getattr(tiers, tier))
        assert precision >= target
        assert tiers.calibration[tier]["precision"] == pytest.approx(precision, abs=1e-4)
        assert accepted > 0
        # the threshold is the largest that does: one step further breaks the target
        beyond = np.sort(np.concatenate([genuine, impostor]))
        nxt = beyond[beyond > getattr(tiers, tier)][0]
        assert precision_at(genuine, impostor, nxt)[0] < target or tier == "possible"
    assert tiers.calibration["n_correct_top1"] == 2000


def test_no_threshold_reaches_the_target_gives_zero() -> None:
    tiers = calibrate([0.5, 0.6], [0.1, 0.2])
    assert tiers.high == 0.0 and tiers.calibration["high"]["accepted"] == 0
    with pytest.raises(ValueError, match="at least one"):
        calibrate([], [0.3])


def test_tier_report_bands() -> None:
    report = tier_report([0.1, 0.2, 0.5], [0.55, 0.9], Tiers(0.3, 0.6, 0.8))
    assert report["high"] == {"queries": 2, "share": 0.4, "precision": 1.0}
    assert report["likely"] == {"queries": 2, "share": 0.4, "precision": 0.5}
    assert report["possible"]["queries"] == 0 and report["possible"]["precision"] is None
    assert report["unlikely"] == {"queries": 1, "share": 0.2, "precision": 0.0}


def test_strangers_cap_each_tier_at_its_stranger_rate() -> None:
    """Queries of people not in the database sit near the enrolled ones' distances: each tier
    lets in at most its share of them (0.5% / 5% / 20%), whatever the precision of the enrolled."""
    rng = np.random.default_rng(5)
    genuine = rng.normal(0.40, 0.08, 2000)
    impostor = rng.normal(0.70, 0.05, 40)
    strangers = rng.normal(0.62, 0.04, 1000)
    closed = calibrate(genuine, impostor)
    opened = calibrate(genuine, impostor, strangers=strangers)
    assert opened.high < closed.high
    assert opened.high <= opened.likely <= opened.possible
    for tier, rate in (("high", 0.005), ("likely", 0.05), ("possible", 0.20)):
        let_in = float((strangers <= getattr(opened, tier)).mean())
        assert let_in <= rate
        assert opened.calibration[tier]["stranger_rate"] == pytest.approx(let_in, abs=1e-4)
        assert opened.calibration[tier]["stranger_rate_target"] == rate
    assert opened.calibration["n_strangers"] == 1000
    report = tier_report(genuine, impostor, opened, strangers)
    assert sum(band["strangers"] for band in report.values()) == 1000
    assert report["high"]["stranger_share"] <= 0.005
