"""Confidence tiers, in one place: the tier names, how a match's evidence decides its tier, the
identify cascade's "decisive" call, and the "lowest tier to show" filter.

A match's evidence is its distance, its margin (how much farther the best *other* performer is:
positive for the top match, zero or negative for the rest) and the number of performers in the
database. A calibrated rule turns distance and margin into a score, the log-odds that the match
is right,

    score = b0 + b_d * distance + b_m * margin

and a tier is the highest whose cut the score reaches. A stranger's nearest performer comes closer
as the database grows, so each cut rises with the database size:
`cut(tier, N) = a_tier + s_tier * log10(N)`. The coefficients and cuts are measured
(`matching/calibrate.py`; the defaults in `database/calibrated.json`, written by
`bench/bench_accuracy.py`), never typed in by hand. A database made with other models, or an older
manifest, has plain distance thresholds instead (`Tiers.thresholds`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from stash_sense.database.errors import DatabaseError

Tier = Literal["high", "likely", "possible", "unlikely"]
#: best first; "unlikely" is everything below "possible"
TIER_NAMES: tuple[Tier, ...] = ("high", "likely", "possible", "unlikely")
GRADED: tuple[Tier, ...] = ("high", "likely", "possible")
#: margins are clipped to +-this: beyond it a runner-up says nothing more
MARGIN_CAP = 0.3
#: the score's inputs, in the order of its coefficients
FEATURES = ("distance", "margin")


def parse_tier(value: object) -> Tier:
    """A tier name from user input (any case); ValueError naming the choices otherwise."""
    text = str(value or "").strip().lower()
    for tier in TIER_NAMES:
        if text == tier:
            return tier
    raise ValueError(f"a tier is one of {', '.join(TIER_NAMES)}, got {value!r}")


def at_least(tier: str, lowest: str) -> bool:
    """Whether `tier` is `lowest` or better (unknown tiers count as "unlikely")."""
    rank: dict[str, int] = {t: i for i, t in enumerate(TIER_NAMES)}
    return rank.get(tier, len(TIER_NAMES) - 1) <= rank[parse_tier(lowest)]


T = TypeVar("T")


def keep_at_least(items: Iterable[T], lowest: str) -> list[T]:
    """The items (matches or their dicts) whose tier is `lowest` or better: the display filter."""

    def tier(item: Any) -> str:
        return str(item.get("tier") if isinstance(item, Mapping) else item.tier)

    return [item for item in items if at_least(tier(item), lowest)]


@dataclass(frozen=True)
class Evidence:
    """What is known about one candidate match when its tier is decided."""

    distance: float
    #: the best other performer's distance minus this one's (clipped to +-MARGIN_CAP)
    margin: float
    performers: int

    def features(self) -> tuple[float, float]:
        return (self.distance, min(max(self.margin, -MARGIN_CAP), MARGIN_CAP))

    @property
    def log_size(self) -> float:
        return math.log10(max(self.performers, 2))


def evidence_for(distances: Sequence[float], performers: int) -> list[Evidence]:
    """The evidence of each of a ranking's candidates (`distances` closest first)."""
    out: list[Evidence] = []
    for i, d in enumerate(distances):
        others = [x for j, x in enumerate(distances) if j != i]
        margin = (min(others) - d) if others else MARGIN_CAP
        out.append(Evidence(float(d), float(margin), performers))
    return out


@dataclass(frozen=True)
class Cut:
    """A tier's cut on the score at a database size: `at_one + per_decade * log10(performers)`."""

    at_one: float
    per_decade: float = 0.0

    def at(self, log_size: float) -> float:
        return self.at_one + self.per_decade * log_size


@dataclass(frozen=True)
class Rule:
    """A fitted rule: the score's coefficients over FEATURES and each tier's cut."""

    intercept: float
    coef: tuple[float, float]
    cuts: Mapping[str, Cut]

    def score(self, evidence: Evidence) -> float:
        return self.intercept + sum(
            c * x for c, x in zip(self.coef, evidence.features(), strict=True)
        )

    def cut(self, tier: str, performers: int) -> float:
        """The score `tier` needs at this size (never below the tier above it)."""
        log_size = math.log10(max(performers, 2))
        value = -math.inf
        for name in GRADED:
            value = (
                self.cuts[name].at(log_size)
                if value == -math.inf
                else min(value, self.cuts[name].at(log_size))
            )
            if name == tier:
                return value
        raise ValueError(f"no tier {tier!r}")

    def tier(self, evidence: Evidence) -> Tier:
        s = self.score(evidence)
        for name in GRADED:
            if s >= self.cut(name, evidence.performers):
                return name
        return "unlikely"

    def max_distance(self, tier: str, margin: float, performers: int) -> float:
        """The largest distance that still reaches `tier` at this margin and database size."""
        _, m = Evidence(0.0, margin, performers).features()
        return (self.cut(tier, performers) - self.intercept - self.coef[1] * m) / self.coef[0]

    def as_dict(self) -> dict[str, Any]:
        return {
            "features": list(FEATURES),
            "intercept": self.intercept,
            "coef": list(self.coef),
            "cuts": {
                t: {"at_one": c.at_one, "per_decade": c.per_decade} for t, c in self.cuts.items()
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Rule:
        if list(data.get("features", FEATURES)) != list(FEATURES):
            raise DatabaseError(f"tier rule over unknown features {data.get('features')}")
        coef = tuple(float(c) for c in data["coef"])
        if len(coef) != len(FEATURES):
            raise DatabaseError(f"tier rule needs {len(FEATURES)} coefficients, got {len(coef)}")
        if coef[0] >= 0:
            raise DatabaseError("a tier rule must trust a larger distance less")
        cuts: dict[str, Cut] = {
            t: Cut(float(data["cuts"][t]["at_one"]), float(data["cuts"][t].get("per_decade", 0)))
            for t in GRADED
        }
        return cls(float(data["intercept"]), (coef[0], coef[1]), cuts)


@dataclass(frozen=True)
class Tiers:
    """How matches get their tier in one database.

    `fused` decides on the fused distance; `first` (optional) is the identify cascade's rule on
    the first embedder alone, whose "high" makes a face decisive. Without `fused`, plain distance
    thresholds (`high`, `likely`, `possible`) decide. `calibration` holds what was measured.
    """

    high: float = 0.4
    likely: float = 0.6
    possible: float = 0.8
    fused: Rule | None = None
    first: Rule | None = None
    first_embedder: str = "sface"
    #: without a `first` rule, the first embedder decides when its top match is this close ...
    first_max_distance: float = 0.55
    #: ... and the runner-up this much farther (chosen on the dev set, docs/matching.md)
    first_min_margin: float = 0.10
    calibration: dict[str, Any] = field(default_factory=dict)

    def tier(self, evidence: Evidence) -> Tier:
        """The tier of a match with this evidence, on the fused distance."""
        if self.fused is not None:
            return self.fused.tier(evidence)
        return self.tier_for(evidence.distance)

    def tier_for(self, distance: float) -> Tier:
        """The tier by distance thresholds alone (uncalibrated or older databases)."""
        if distance <= self.high:
            return "high"
        if distance <= self.likely:
            return "likely"
        if distance <= self.possible:
            return "possible"
        return "unlikely"

    def decisive(self, evidence: Evidence) -> bool:
        """Whether the first embedder alone settles a face as "high" (the identify cascade)."""
        if self.first is not None:
            return self.first.tier(evidence) == "high"
        return (
            evidence.distance <= self.first_max_distance
            and evidence.margin >= self.first_min_margin
        )

    @property
    def calibrated(self) -> bool:
        return bool(self.calibration)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"high": self.high, "likely": self.likely, "possible": self.possible}
        if self.fused is not None:
            out["fused"] = self.fused.as_dict()
        if self.first is not None:
            out["first"] = {"embedder": self.first_embedder, **self.first.as_dict()}
        out["calibration"] = dict(self.calibration)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Tiers:
        """Parse the manifest's `tiers` (either form); DatabaseError on anything inconsistent."""
        try:
            first = data.get("first")
            tiers = cls(
                high=float(data["high"]),
                likely=float(data["likely"]),
                possible=float(data["possible"]),
                fused=Rule.from_dict(data["fused"]) if data.get("fused") else None,
                first=Rule.from_dict(first) if first else None,
                first_embedder=str((first or {}).get("embedder", "sface")),
                calibration=dict(data.get("calibration") or {}),
            )
        except DatabaseError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise DatabaseError(f"invalid tiers: {err!r}") from None
        if not tiers.high <= tiers.likely <= tiers.possible:
            raise DatabaseError(
                f"tier thresholds must rise: high {tiers.high} <= likely {tiers.likely} "
                f"<= possible {tiers.possible}"
            )
        return tiers
