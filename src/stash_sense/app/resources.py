"""What the machine lends the use cases: the user's cap on the cores face work may use."""

from __future__ import annotations

from stash_sense.faces.cores import allow_cores

__all__ = ["limit_cores"]


def limit_cores(cores: int | None) -> None:
    """Face work in this process (every engine, build and scene made afterwards) uses at most
    `cores` cores; None lifts the user's cap (the process's CPU affinity, at most 4)."""
    allow_cores(cores)
