"""The single writer of a database folder: stages performers and faces in SQLite, then publishes.

Everything goes into `DB/staging/faces.sqlite` (WAL mode, kept between runs so builds resume);
`publish()` turns the staging state into a new read-only generation and swaps `current` to it.
The writing is split by job: performers (`performers.py`), faces and skips (`faces.py`), the
builder's crawl bookkeeping (`crawl.py`, as `writer.crawl`), publishing (`publish.py`).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from stash_sense.database.calibrated import initial_fusion, initial_tiers
from stash_sense.database.crawl import CrawlLedger
from stash_sense.database.errors import DatabaseError
from stash_sense.database.faces import FaceWrites
from stash_sense.database.performers import PerformerWrites
from stash_sense.database.publish import count_rows, publish_generation, source_summary
from stash_sense.database.records import EmbedderInfo
from stash_sense.database.schema import get_meta, set_meta
from stash_sense.database.staging import open_staging


class DatabaseWriter(PerformerWrites, FaceWrites):
    """Stage changes to a database folder and publish them as a new generation.

    One writer per folder at a time (an exclusive lock on `staging/.lock`); methods called
    outside `transaction()` commit on their own.
    """

    def __init__(
        self, root: Path, conn: sqlite3.Connection, embedders: Sequence[EmbedderInfo], lock: IO[str]
    ) -> None:
        super().__init__(conn)
        self.root = root
        self.embedders = list(embedders)
        #: the builder's resume state and retry ledger, in the same transactions
        self.crawl = CrawlLedger(conn)
        self._lock = lock

    @classmethod
    def open(cls, db_root: Path, embedders: Sequence[EmbedderInfo]) -> DatabaseWriter:
        """Open or create `db_root/staging/faces.sqlite` for these embedders.

        A new staging area starts from the current generation when there is one. Staging or a
        generation made with other models (or another schema version) is refused.
        """
        conn, lock = open_staging(Path(db_root), embedders)
        return cls(Path(db_root), conn, embedders, lock)

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._conn.close()
        self._lock.close()

    def __enter__(self) -> DatabaseWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def counts(self) -> dict[str, int]:
        """What staging holds now (performers not deleted, their faces, stash ids)."""
        return count_rows(self._conn)

    def publish(
        self, source_stats: dict[str, Any] | None = None, tiers: Mapping[str, Any] | None = None
    ) -> Path:
        """Publish staging as a new generation and point `current` at it; returns its folder.

        `tiers` (e.g. from calibration) and `source_stats` are remembered in staging, so later
        publishes keep them.
        """
        if self._conn.in_transaction:
            raise DatabaseError("publish() inside a transaction: commit first")
        if tiers is not None:
            set_meta(self._conn, "tiers", json.dumps(dict(tiers)))
        stored = json.loads(get_meta(self._conn, "source_stats") or "{}")
        for source, stats in (source_stats or {}).items():
            stored.setdefault(source, {}).update(stats)
        set_meta(self._conn, "source_stats", json.dumps(stored))
        tiers_json = get_meta(self._conn, "tiers")
        use_tiers = json.loads(tiers_json) if tiers_json else initial_tiers(self.embedders)
        fusion_json = get_meta(self._conn, "fusion")
        fusion = json.loads(fusion_json) if fusion_json else initial_fusion(self.embedders)
        sources = source_summary(self._conn, stored)
        return publish_generation(self.root, self._conn, self.embedders, fusion, use_tiers, sources)
