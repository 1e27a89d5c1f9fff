"""`stash-sense scene`."""

from __future__ import annotations


def scene_command() -> None:
    """Not yet built."""
    raise NotImplementedError
