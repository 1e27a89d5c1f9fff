"""Merge face databases built from different sources into one; performers link by stash id."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stash_sense.database import DatabaseError, DatabaseWriter, FaceDatabase
from stash_sense.database.merge import MergeStats, merge_database, same_models

__all__ = ["DatabaseError", "MergeResult", "MergeStats", "merge_databases"]


@dataclass(frozen=True)
class MergeResult:
    """What each source added, and the generation published."""

    sources: list[tuple[Path, MergeStats]]
    published: Path


def merge_databases(
    sources: list[Path],
    db: Path,
    on_source: Callable[[Path, MergeStats], None] | None = None,
) -> MergeResult:
    """Add every performer and face of `sources` to the database at `db` (created if missing;
    all must use the same models) and publish; `on_source(path, stats)` after each source.
    DatabaseError when a database cannot be read or written, or their models differ."""
    opened: list[FaceDatabase] = []
    done: list[tuple[Path, MergeStats]] = []
    try:
        for path in sources:
            opened.append(FaceDatabase.open(path))
        source_stats: dict[str, Any] = {}
        with DatabaseWriter.open(db, same_models(opened)) as writer:
            for src in opened:
                stats = merge_database(writer, src)
                for name, s in src.manifest.sources.items():
                    source_stats.setdefault(name, {}).update(
                        {k: v for k, v in s.items() if k == "performers_seen"}
                    )
                done.append((src.path, stats))
                if on_source is not None:
                    on_source(src.path, stats)
            published = writer.publish(source_stats=source_stats)
    finally:
        for fdb in opened:
            fdb.close()
    return MergeResult(done, published)
