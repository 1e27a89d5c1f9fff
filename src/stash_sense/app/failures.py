"""The errors from below `app` that the use cases let through, named here so that the adapters
(the sidecar and the CLI) can map each to an HTTP status or an exit code without importing the
packages that raise them."""

from __future__ import annotations

from stash_sense.app.feedback import FeedbackUnavailable, StorageFull
from stash_sense.app.recognizer import NoDatabase
from stash_sense.database import DatabaseError
from stash_sense.faces import ImageError
from stash_sense.release import ReleaseError
from stash_sense.scenes.faces import SceneCancelled
from stash_sense.scenes.frames import FrameError
from stash_sense.sources.stash import StashError

__all__ = [
    "DatabaseError",
    "FeedbackUnavailable",
    "FrameError",
    "ImageError",
    "NoDatabase",
    "ReleaseError",
    "SceneCancelled",
    "StashError",
    "StorageFull",
]
