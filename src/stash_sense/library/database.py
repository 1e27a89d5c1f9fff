"""The user-state database's file: opened, migrated to the schema version, one connection
shared under a lock (the sidecar's scan thread writes while requests read; WAL mode)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Self

from stash_sense.library.schema import MIGRATIONS, SCHEMA_VERSION

FILENAME = "library.sqlite"


class StateError(RuntimeError):
    """The state database cannot be opened or is newer than this program."""


class StateDatabase:
    """The state database at `path` (created, and migrated to SCHEMA_VERSION, on open)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.execute("PRAGMA busy_timeout=10000")
        except (OSError, sqlite3.Error) as err:
            raise StateError(f"cannot open the state database {self.path}: {err}") from None
        self._lock = threading.RLock()
        try:
            self._migrate()
        except StateError:
            self._db.close()
            raise

    @classmethod
    def in_folder(cls, data_dir: Path) -> Self:
        return cls(Path(data_dir) / FILENAME)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # schema ---------------------------------------------------------------
    @property
    def version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        try:
            current = self.version
            if current > SCHEMA_VERSION:
                raise StateError(
                    f"the state database {self.path} has schema {current}, newer than this "
                    f"program's {SCHEMA_VERSION}: upgrade stash-sense"
                )
            for number in range(current, SCHEMA_VERSION):
                with self._tx() as db:
                    for statement in _statements(MIGRATIONS[number]):
                        db.execute(statement)
                    db.execute(f"PRAGMA user_version={number + 1}")
        except sqlite3.DatabaseError as err:
            raise StateError(f"the state database {self.path} is unusable: {err}") from None

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE) on the shared connection, under its lock."""
        return self._tx()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def read(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        """The rows of one query, under the connection's lock."""
        return self._rows(sql, args)

    def _rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return list(self._db.execute(sql, args).fetchall())


def _statements(script: str) -> list[str]:
    """The script's statements; a trigger's body (statements inside BEGIN ... END) stays one."""
    out: list[str] = []
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                out.append(pending.strip())
            pending = ""
    if pending.strip(" \n;"):
        out.append(pending.strip())
    return out
