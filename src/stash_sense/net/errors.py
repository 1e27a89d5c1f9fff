"""The one error of outbound HTTP: a short machine-readable `reason` and a one-line message."""

from __future__ import annotations


class NetError(Exception):
    """A request was refused by its policy or failed; `str()` is one line without secrets.

    `reason` is a tag: `refused` (a hop off the policy's hosts), `too_many_redirects`, `timeout`
    (a read or the whole-request deadline), `connection`, `too_large`, `content_type`, `disk`
    (the download could not be written) or `short` (the body ended early).
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
