"""The domain errors of the use cases; the CLI turns them into an exit status and one line, the
sidecar into an HTTP status and {"error": message}."""

from __future__ import annotations


class AppError(Exception):
    """A use case could not do what was asked; the message says why, in one line."""


class InvalidInput(AppError):
    """The request itself is wrong (a missing folder, a file that is no video, a bad option)."""


class Unusable(AppError):
    """The input is well-formed but cannot be used (an unreadable image, no image to read)."""


class NotFound(AppError):
    """Something the request names does not exist (a scene or a performer in Stash)."""


class Upstream(AppError):
    """A server the use case reads from (a stash-box host) failed or answered with no picture."""
