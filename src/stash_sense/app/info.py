"""Database info: what a face database holds (counts, models, tiers, sources, files)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stash_sense.app.results import DatabaseInfo
from stash_sense.database import DatabaseError, FaceDatabase
from stash_sense.matching.tiers import GRADED, Tiers

__all__ = [
    "DatabaseError",
    "DatabaseInfo",
    "TierLimit",
    "database_info",
    "read_database_info",
    "tier_limits",
]

#: The margin at which `db info` states a calibrated tier's largest distance.
SHOWN_MARGIN = 0.1


@dataclass(frozen=True)
class TierLimit:
    """One graded tier of a manifest: its largest distance (at SHOWN_MARGIN for a calibrated
    rule) and what calibration measured for it (None where it measured nothing)."""

    tier: str
    max_distance: float
    at_margin: float | None
    precision: float | None
    share: float | None
    stranger_share: float | None


def database_info(db: FaceDatabase, root: Path) -> DatabaseInfo:
    """What `db` (opened from `root`) holds; DatabaseError when it cannot be read."""
    return DatabaseInfo(
        path=str(root),
        generation=db.path.name,
        manifest=db.manifest.as_dict(),
        counts=dict(db.manifest.counts),
        sources=db.manifest.sources,
        stash_ids_per_endpoint=db.stash_ids_per_endpoint(),
        file_sizes=db.file_sizes(),
    )


def read_database_info(root: Path) -> DatabaseInfo:
    """Open the database at `root` and say what it holds; DatabaseError when it cannot."""
    with FaceDatabase.open(root) as db:
        return database_info(db, root)


def tier_limits(tiers: dict[str, Any]) -> list[TierLimit]:
    """The graded tiers of a manifest's `tiers` section, for showing (`db info`)."""
    rule = Tiers.from_dict(tiers)
    calibration = tiers.get("calibration") or {}
    size = int(calibration.get("performers") or 2)
    limits = []
    for tier in GRADED:
        measured = calibration.get(tier, {})
        if rule.fused is not None:
            limit, margin = rule.fused.max_distance(tier, SHOWN_MARGIN, size), SHOWN_MARGIN
        else:
            limit, margin = float(tiers[tier]), None
        limits.append(
            TierLimit(
                tier,
                limit,
                margin,
                measured.get("precision"),
                measured.get("share"),
                measured.get("stranger_share"),
            )
        )
    return limits
