"""Local stand-ins that speak the real APIs (stash-box GraphQL, ThePornDB REST, Stash GraphQL),
for tests, benchmarks and the demo. Start one with `stash-sense dev stashbox|tpdb|stash`."""

from stash_sense.devservers.stashbox import StashBoxOptions, stashbox_app

__all__ = ["StashBoxOptions", "stashbox_app"]
