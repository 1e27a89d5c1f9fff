"""The staging area of a database folder: opened under a lock, seeded from the current generation,
checked against the writer's models; `Staged` is what every part of the writer shares."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Self

from stash_sense.database.errors import DatabaseError
from stash_sense.database.layout import SQLITE_NAME, STAGING, current_generation
from stash_sense.database.manifest import Manifest, check_models
from stash_sense.database.records import EmbedderInfo
from stash_sense.database.schema import connect_readonly, connect_writable, get_meta, set_meta

#: the SQL expression of "now" the writer stamps rows with
NOW = "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')"


class Staged:
    """A part of the writer over the staging connection; methods called outside `transaction()`
    commit on their own."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Self]:
        """One SQLite transaction around the block: all of it is stored, or none of it."""
        if self._conn.in_transaction:
            yield self
            return
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")


def open_staging(
    db_root: Path, embedders: Sequence[EmbedderInfo]
) -> tuple[sqlite3.Connection, IO[str]]:
    """`db_root/staging/faces.sqlite` opened for these embedders, and the lock that makes its
    opener the only writer (close it to let go).

    A new staging area starts from the current generation when there is one. Staging or a
    generation made with other models (or another schema version) is refused.
    """
    if not embedders:
        raise DatabaseError("a database needs at least one embedder")
    if db_root.exists() and not db_root.is_dir():
        raise DatabaseError(f"{db_root} is not a folder")
    if (db_root / "manifest.json").exists() and not (db_root / STAGING).exists():
        raise DatabaseError(
            f"{db_root} is a single published generation, not a database folder: "
            "copy it into a new folder's first generation or pass a database folder"
        )
    staging = db_root / STAGING
    try:
        staging.mkdir(parents=True, exist_ok=True)
        lock = (staging / ".lock").open("w")
    except OSError as err:
        raise DatabaseError(f"cannot write to {db_root}: {err.strerror or err}") from None
    if not os.access(staging, os.W_OK) or not os.access(db_root, os.W_OK):
        lock.close()
        raise DatabaseError(f"cannot write to {db_root}: permission denied")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.close()
        raise DatabaseError(f"{db_root} is being written by another process") from None
    try:
        path = staging / SQLITE_NAME
        if not path.exists():
            _seed_from_current(db_root, path, embedders)
        conn = connect_writable(path)
        _check_staging_models(conn, path, embedders)
    except BaseException:
        lock.close()
        raise
    return conn, lock


def _seed_from_current(root: Path, path: Path, embedders: Sequence[EmbedderInfo]) -> None:
    """Start a missing staging database as a copy of the current generation's SQLite."""
    gen = current_generation(root) if root.exists() else None
    if gen is None:
        return
    manifest = Manifest.read(gen)
    _require_same_models(manifest.models, embedders, str(gen))
    src = connect_readonly(gen / SQLITE_NAME)
    tmp = path.with_suffix(".seed")
    tmp.unlink(missing_ok=True)
    dst = sqlite3.connect(tmp)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=WAL")
        set_meta(
            dst, "models", json.dumps({k: v.as_manifest() for k, v in manifest.models.items()})
        )
        set_meta(dst, "tiers", json.dumps(manifest.tiers))
        set_meta(dst, "fusion", json.dumps(manifest.fusion))
        set_meta(dst, "source_stats", json.dumps(manifest.sources))
        dst.commit()
    finally:
        dst.close()
        src.close()
    os.replace(tmp, path)


def _require_same_models(
    have: dict[str, EmbedderInfo], embedders: Sequence[EmbedderInfo], where: str
) -> None:
    check_models(have, embedders, where)
    if set(have) != {e.name for e in embedders}:
        raise DatabaseError(
            f"{where} was made with {', '.join(sorted(have))}; this writer has "
            f"{', '.join(e.name for e in embedders)}: every face needs the same embedders"
        )


def _check_staging_models(
    conn: sqlite3.Connection, path: Path, embedders: Sequence[EmbedderInfo]
) -> None:
    stored = get_meta(conn, "models")
    if stored is None:
        set_meta(conn, "models", json.dumps({e.name: e.as_manifest() for e in embedders}))
        return
    have = {
        name: EmbedderInfo.from_manifest(name, entry) for name, entry in json.loads(stored).items()
    }
    try:
        _require_same_models(have, embedders, str(path))
    except DatabaseError:
        conn.close()
        raise
