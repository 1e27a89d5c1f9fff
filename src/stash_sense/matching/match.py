"""A match: a performer of the database and how close a face (or a person's faces) came to them."""

from __future__ import annotations

from dataclasses import dataclass, field


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
