"""The user's Stash, as the use cases reach it: one client for the configured URL and key."""

from __future__ import annotations

from stash_sense.sources.stash import StashClient

__all__ = ["StashClient", "connect_stash"]


def connect_stash(url: str | None, api_key: str | None) -> StashClient | None:
    """A client of the Stash at `url` (None when no URL is configured)."""
    return StashClient(url, api_key) if url else None
