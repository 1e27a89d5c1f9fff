"""Where rejections cluster: the performers and distance ranges users reject most, as JSON (the
negative-mining input for calibration)."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from stash_sense.library.store import LibraryStore

#: width of a distance range in the report
BIN = 0.05


def rejection_report(store: LibraryStore) -> dict[str, Any]:
    """Counts of the rejections in force, by performer, by tier, by distance range (the fused
    distance) and, where the decision kept them, by distance range per embedder."""
    rejections = store.decisions("reject")
    by_performer: dict[tuple[Any, ...], dict[str, Any]] = {}
    distances: Counter[float] = Counter()
    per_embedder: dict[str, Counter[float]] = defaultdict(Counter)
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
            distances[_bin(r.distance)] += 1
        for embedder, value in r.distances.items():
            per_embedder[embedder][_bin(value)] += 1
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
        "by_distance": _ranges(distances),
        "by_embedder": {name: _ranges(found) for name, found in sorted(per_embedder.items())},
    }


def _bin(distance: float) -> float:
    return round(int(distance / BIN) * BIN, 2)


def _ranges(counts: Counter[float]) -> list[dict[str, Any]]:
    return [
        {"min_distance": lo, "max_distance": round(lo + BIN, 2), "rejections": n}
        for lo, n in sorted(counts.items())
    ]
