"""Builds a face database from sources: paging, concurrent downloads and embedding, a single
writer, resume after any interruption, a ledger of what failed for now, incremental updates.
Entry point: `build()`."""

from stash_sense.builder.options import BuildError, BuildIncomplete, BuildOptions, BuildResult
from stash_sense.builder.progress import BuildProgress, LogProgress, OnProgress
from stash_sense.builder.run import build
from stash_sense.builder.subject import choose_subject

__all__ = [
    "BuildError",
    "BuildIncomplete",
    "BuildOptions",
    "BuildProgress",
    "BuildResult",
    "LogProgress",
    "OnProgress",
    "build",
    "choose_subject",
]
