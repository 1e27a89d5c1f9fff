"""Stash Sense: local face recognition that tells who is in a Stash scene."""

__version__ = "0.1.0"
