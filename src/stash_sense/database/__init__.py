"""The face database folder: SQLite (source of truth) + one Voyager index per embedder + manifest.

`DatabaseWriter` stages changes and publishes them atomically as a new generation;
`FaceDatabase` opens a published generation read-only.
"""

from stash_sense.database.errors import DatabaseError
from stash_sense.database.manifest import SCHEMA_VERSION, Manifest
from stash_sense.database.reader import FaceDatabase, PerformerInfo, database_models
from stash_sense.database.records import EmbedderInfo, PerformerRecord
from stash_sense.database.writer import DatabaseWriter

__all__ = [
    "SCHEMA_VERSION",
    "DatabaseError",
    "DatabaseWriter",
    "EmbedderInfo",
    "FaceDatabase",
    "Manifest",
    "PerformerInfo",
    "PerformerRecord",
    "database_models",
]
