"""`stash-sense identify`."""

from __future__ import annotations


def identify_command() -> None:
    """Not yet built."""
    raise NotImplementedError
