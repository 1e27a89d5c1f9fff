"""Where rejections cluster: the performers and distance ranges users reject most, as JSON (the
negative-mining input for calibration)."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from stash_sense.library.store import LibraryStore

#: width of a distance range in the report
BIN = 0.05


def rejection_report(store: LibraryStore) -> dict[str, Any]:
    """Counts of the rejections in force, by performer, by tier and by distance range."""
    rejections = store.decisions("reject")
    by_performer: dict[tuple[Any, ...], dict[str, Any]] = {}
    distances: Counter[float] = Counter()
    tiers: Counter[str] = Counter()
    scenes: dict[tuple[Any, ...], set[str]] = defaultdict(set)
    for r in rejections:
        key = r.performer.stash_ids or (r.performer.performer_id, r.performer.name)
        entry = by_performer.setdefault(key, {
            "name": r.performer.name,
            "performer_id": r.performer.performer_id,
            "stash_ids": [{"endpoint": e, "stash_id": s} for e, s in r.performer.stash_ids],
            "rejections": 0,
            "distances": [],
        })  # fmt: skip
        entry["rejections"] += 1
        scenes[key].add(r.scene_id)
        if r.distance is not None:
            entry["distances"].append(round(r.distance, 4))
            distances[round(int(r.distance / BIN) * BIN, 2)] += 1
        if r.tier:
            tiers[r.tier] += 1
    performers = []
    for key, entry in by_performer.items():
        entry["scenes"] = len(scenes[key])
        performers.append(entry)
    performers.sort(key=lambda e: (-e["rejections"], e["name"]))
    return {
        "rejections": len(rejections),
        "by_performer": performers,
        "by_tier": dict(tiers.most_common()),
        "by_distance": [
            {"min_distance": lo, "max_distance": round(lo + BIN, 2), "rejections": n}
            for lo, n in sorted(distances.items())
        ],
    }
