"""The one error type of releases: a sentence for the user, never a traceback."""

from __future__ import annotations


class ReleaseError(RuntimeError):
    """Packaging, checking, downloading or installing a release failed (one line, for the user)."""
