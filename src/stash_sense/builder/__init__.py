"""Builds a face database from sources: paging, concurrent downloads and embedding, a single
writer, resume after any interruption, incremental updates. Entry point: `build()`."""

from stash_sense.builder.run import BuildError, BuildOptions, BuildResult, build
from stash_sense.builder.stats import SourceStats
from stash_sense.builder.subject import choose_subject

__all__ = ["BuildError", "BuildOptions", "BuildResult", "SourceStats", "build", "choose_subject"]
