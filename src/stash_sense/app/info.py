"""Database info: what a face database holds (counts, models, tiers, sources, files)."""

from __future__ import annotations

from pathlib import Path

from stash_sense.app.results import DatabaseInfo
from stash_sense.database import DatabaseError, FaceDatabase

__all__ = ["DatabaseError", "DatabaseInfo", "database_info", "read_database_info"]


def database_info(db: FaceDatabase, root: Path) -> DatabaseInfo:
    """What `db` (opened from `root`) holds; DatabaseError when it cannot be read."""
    return DatabaseInfo(
        path=str(root),
        generation=db.path.name,
        manifest=db.manifest.as_dict(),
        counts=dict(db.manifest.counts),
        sources=db.manifest.sources,
        stash_ids_per_endpoint=db.stash_ids_per_endpoint(),
        file_sizes=db.file_sizes(),
    )


def read_database_info(root: Path) -> DatabaseInfo:
    """Open the database at `root` and say what it holds; DatabaseError when it cannot."""
    with FaceDatabase.open(root) as db:
        return database_info(db, root)
