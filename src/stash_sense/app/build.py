"""Build a face database from one source endpoint (`stash-sense build`): the endpoint resolved
from its name and the endpoints file, then the builder's pass, progress reported by callback."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from stash_sense.builder import (
    BuildError,
    BuildIncomplete,
    BuildOptions,
    BuildProgress,
    BuildResult,
    LogProgress,
    OnProgress,
    build,
)
from stash_sense.database import DatabaseError
from stash_sense.errors import ConfigError
from stash_sense.sources.endpoints import get_endpoint, require_key

__all__ = [
    "BuildError",
    "BuildIncomplete",
    "BuildProgress",
    "BuildResult",
    "ConfigError",
    "DatabaseError",
    "LogProgress",
    "OnProgress",
    "build_database",
]


def build_database(
    db: Path,
    endpoint: str,
    *,
    endpoints_file: Path | None,
    endpoints_file_must_exist: bool,
    environ: Mapping[str, str],
    limit: int | None = None,
    keep_images: bool = False,
    full: bool = False,
    embed_threads: int | None = None,
    on_progress: OnProgress | None = None,
) -> tuple[str, BuildResult]:
    """(the endpoint's name, what the pass did). ConfigError for an unknown endpoint or a public
    source (a preset) without a key, raised before any request; BuildError / DatabaseError when
    the build cannot go on, BuildIncomplete when part of it failed for now (run again)."""
    ep = get_endpoint(endpoint, endpoints_file, environ, must_exist=endpoints_file_must_exist)
    require_key(ep)  # before any request: a public source without a key would only refuse
    options = BuildOptions(
        db=db,
        endpoint=ep,
        limit=limit,
        keep_images=keep_images,
        full=full,
        embed_threads=embed_threads,
        on_progress=on_progress,
    )
    return ep.name, build(options)
