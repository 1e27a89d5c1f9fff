"""How the command line shows things: the rich style of each confidence tier."""

from __future__ import annotations

TIER_STYLE = {"high": "bold green", "likely": "green", "possible": "yellow", "unlikely": "dim"}


def tier_style(tier: str | None) -> str:
    """The rich style for a tier; plain for anything unknown."""
    return TIER_STYLE.get(tier or "unlikely", "")
