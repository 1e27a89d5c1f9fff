"""The one error type the database package raises: its message is a single line fit for users."""

from __future__ import annotations


class DatabaseError(Exception):
    """A face database cannot be opened, read, written or published; the message is one line."""
