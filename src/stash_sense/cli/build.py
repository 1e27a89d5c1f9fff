"""`stash-sense build`."""

from __future__ import annotations


def build_command() -> None:
    """Not yet built."""
    raise NotImplementedError
