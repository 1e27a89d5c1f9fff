"""The tiers module: names, the filter, a manifest's tiers in both forms, the cascade call."""

from __future__ import annotations

import pytest

from stash_sense.database import DatabaseError
from stash_sense.database.calibrated import measured
from stash_sense.matching.tiers import (
    TIER_NAMES,
    Evidence,
    Tiers,
    at_least,
    evidence_for,
    keep_at_least,
    parse_tier,
)


def test_names_order_and_the_display_filter() -> None:
    assert TIER_NAMES == ("high", "likely", "possible", "unlikely")
    assert parse_tier(" Likely ") == "likely"
    with pytest.raises(ValueError, match="one of high, likely"):
        parse_tier("great")
    assert at_least("high", "likely") and not at_least("possible", "likely")
    rows = [{"tier": t} for t in TIER_NAMES]
    assert keep_at_least(rows, "likely") == rows[:2]
    assert keep_at_least(rows, "unlikely") == rows


def test_evidence_margins_are_against_the_best_other() -> None:
    top, second, third = evidence_for([0.3, 0.5, 0.6], 100)
    assert top.margin == pytest.approx(0.2)
    assert second.margin == pytest.approx(-0.2) and third.margin == pytest.approx(-0.3)
    assert evidence_for([0.3], 100)[0].margin == pytest.approx(0.3)


def test_older_manifests_keep_their_distance_thresholds() -> None:
    tiers = Tiers.from_dict({"high": 0.3, "likely": 0.5, "possible": 0.7, "calibration": {}})
    assert tiers.fused is None and not tiers.calibrated
    assert [tiers.tier(Evidence(d, 0.0, 10)) for d in (0.2, 0.4, 0.6, 0.8)] == list(TIER_NAMES)
    assert tiers.decisive(Evidence(0.5, 0.2, 10)) and not tiers.decisive(Evidence(0.5, 0.05, 10))
    with pytest.raises(DatabaseError, match="must rise"):
        Tiers.from_dict({"high": 0.6, "likely": 0.5, "possible": 0.7})
    with pytest.raises(DatabaseError, match="invalid tiers"):
        Tiers.from_dict({"high": "x"})


def test_the_shipped_rule_round_trips_and_decides_sensibly() -> None:
    data = measured()["tiers"]
    tiers = Tiers.from_dict(data)
    assert tiers.fused is not None and tiers.first is not None
    assert Tiers.from_dict(tiers.as_dict()) == tiers
    n = int(data["calibration"]["performers"])
    assert tiers.tier(Evidence(0.25, 0.3, n)) == "high"
    assert tiers.tier(Evidence(0.75, 0.0, n)) == "unlikely"
    assert tiers.decisive(Evidence(0.2, 0.3, n))
    assert not tiers.decisive(Evidence(0.7, 0.01, n))
    for tier in ("high", "likely", "possible"):
        assert data["calibration"][tier]["precision"] is not None
