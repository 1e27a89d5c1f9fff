"""The error every layer raises for unusable configuration: one line, for the user."""

from __future__ import annotations


class ConfigError(ValueError):
    """A setting is missing or malformed (a URL, a number, an endpoint table, a config file)."""
