"""A match: a performer of the database and how close a face (or a person's faces) came to them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Match:
    """One candidate performer for a face; `distance` is the aggregated cosine distance, fused
    over the embedders of `decided_by` (SFace alone for a face the identify cascade decided)."""

    performer_id: int
    name: str
    disambiguation: str | None
    distance: float
    tier: str
    stash_ids: list[dict[str, str]] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    image_url: str | None = None
    gender: str | None = None
    country: str | None = None
    faces_matched: int = 0
    distances: dict[str, float] = field(default_factory=dict)  # per embedder, best face
    decided_by: list[str] = field(default_factory=list)  # the embedders whose distances ranked it

    def as_dict(self) -> dict[str, Any]:
        return {
            "performer_id": self.performer_id,
            "name": self.name,
            "disambiguation": self.disambiguation,
            "distance": round(self.distance, 4),
            "tier": self.tier,
            "stash_ids": [dict(s) for s in self.stash_ids],
            "aliases": list(self.aliases),
            "image_url": self.image_url,
            "country": self.country,
            "gender": self.gender,
            "faces_matched": self.faces_matched,
            "distances": {k: round(v, 4) for k, v in self.distances.items()},
            "decided_by": list(self.decided_by or self.distances),
        }
