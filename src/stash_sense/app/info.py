"""Database info: what a face database holds (counts, models, tiers, sources, files)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stash_sense.database import FaceDatabase


@dataclass(frozen=True)
class DatabaseInfo:
    """One open database: the folder given, its generation, manifest, files and stash ids."""

    root: Path  # the folder the user gave (a DB root with `current`, or a generation)
    generation: Path  # the generation folder actually read
    manifest: dict[str, Any]
    counts: dict[str, int]
    sources: dict[str, Any]
    file_sizes: dict[str, int]
    stash_ids_per_endpoint: dict[str, int]


def database_info(db: FaceDatabase, root: Path) -> DatabaseInfo:
    """What `db` (opened from `root`) holds; DatabaseError when it cannot be read."""
    return DatabaseInfo(
        root=root,
        generation=db.path,
        manifest=db.manifest.as_dict(),
        counts=dict(db.manifest.counts),
        sources=db.manifest.sources,
        file_sizes=db.file_sizes(),
        stash_ids_per_endpoint=db.stash_ids_per_endpoint(),
    )
