"""Local stand-ins that speak the real APIs (stash-box GraphQL, ThePornDB REST, Stash GraphQL),
for tests and benchmarks. Start one with `stash-sense-dev stashbox|tpdb|stash`."""

from stash_sense_devkit.standins.stashbox import StashBoxOptions, stashbox_app

__all__ = ["StashBoxOptions", "stashbox_app"]
