"""`stash-sense serve`."""

from __future__ import annotations


def serve_command() -> None:
    """Not yet built."""
    raise NotImplementedError
