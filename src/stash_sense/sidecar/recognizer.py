"""The face engine and the current face database, swappable while requests are using the old one."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from stash_sense.database import DatabaseError, EmbedderInfo, FaceDatabase
from stash_sense.faces import FaceEngine
from stash_sense.matching import Matcher


class NoDatabase(RuntimeError):
    """No face database is loaded (the sidecar started without a usable one)."""


@dataclass
class Recognizer:
    """One loaded database with its matcher; `users` counts requests holding it."""

    db: FaceDatabase
    matcher: Matcher
    path: Path
    users: int = 0
    retired: bool = False


class RecognizerHolder:
    """Hands out the current Recognizer; `reload` swaps in a new one without failing requests."""

    def __init__(self, engine: FaceEngine, path: Path) -> None:
        self.engine = engine
        self.configured = path
        self.path = path
        self.error: str | None = None
        self._current: Recognizer | None = None
        self._lock = threading.Lock()
        self._reload_lock = threading.Lock()

    def _infos(self) -> list[EmbedderInfo]:
        return [EmbedderInfo.from_embedder(e) for e in self.engine.embedders]

    def _open(self, path: Path) -> Recognizer:
        db = FaceDatabase.open(path, self._infos())
        try:
            db.load_indices()
            matcher = Matcher(db)
        except Exception:
            db.close()
            raise
        return Recognizer(db, matcher, path)

    def load(self) -> None:
        """Open the configured database; on failure remember why (the service still starts)."""
        try:
            self.reload(self.path)
        except DatabaseError as err:
            self.error = str(err)

    def reload(self, path: Path | None = None) -> Recognizer:
        """Open `path` (default: the configured `--db` again, following its `current`, even
        after a reload switched to another path) and make it current."""
        with self._reload_lock:
            new = self._open(Path(path or self.configured))
            with self._lock:
                old, self._current = self._current, new
                self.path, self.error = new.path, None
                if old is not None:
                    old.retired = True
                    if old.users == 0:
                        old.db.close()
            return new

    @property
    def current(self) -> Recognizer | None:
        return self._current

    @contextlib.contextmanager
    def use(self) -> Iterator[Recognizer]:
        """The current Recognizer, kept open until the caller is done even if a reload happens."""
        with self._lock:
            rec = self._current
            if rec is None:
                raise NoDatabase(self.error or "no face database is loaded")
            rec.users += 1
        try:
            yield rec
        finally:
            with self._lock:
                rec.users -= 1
                if rec.retired and rec.users == 0:
                    rec.db.close()

    def close(self) -> None:
        with self._lock:
            if self._current is not None:
                self._current.retired = True
                if self._current.users == 0:
                    self._current.db.close()
                self._current = None
