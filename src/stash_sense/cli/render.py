"""How the command line shows things: the rich style of each confidence tier."""

from __future__ import annotations

from stash_sense.app.results import TIERS, Tier

TIER_STYLE: dict[Tier, str] = dict(
    zip(TIERS, ("bold green", "green", "yellow", "dim"), strict=True)
)


def tier_style(tier: str | None) -> str:
    """The rich style for a tier; plain for anything unknown."""
    return {str(k): v for k, v in TIER_STYLE.items()}.get(tier or "unlikely", "")
