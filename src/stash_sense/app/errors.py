"""The domain errors of the use cases; the CLI turns them into an exit status, the sidecar into
an HTTP status."""

from __future__ import annotations


class AppError(Exception):
    """A use case could not do what was asked; the message says why, in one line."""


class InvalidInput(AppError):
    """The input is unusable (a missing folder, an unreadable image, a bad identifier)."""


class NotFound(AppError):
    """Something the request names does not exist (a scene, a performer)."""


class Unavailable(AppError):
    """A service the use case needs (Stash, the database) did not answer as it should."""
