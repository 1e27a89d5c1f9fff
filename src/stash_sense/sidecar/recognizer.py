"""The face engine and the current face database, swappable while requests are using the old one."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from stash_sense.database import DatabaseError, EmbedderInfo, FaceDatabase, database_models
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
    #: the engine this database's embedders need (FaceEngine.for_database)
    engine: FaceEngine
    users: int = 0
    retired: bool = False


class RecognizerHolder:
    """Hands out the current Recognizer; `reload` swaps in a new one without failing requests."""

    def __init__(self, engine: FaceEngine, path: Path) -> None:
        self.engine = engine
        self._engines: dict[tuple[str, ...], FaceEngine] = {tuple(engine.embedder_names): engine}
        self.configured = path
        self.path = path
        self.error: str | None = None
        self._current: Recognizer | None = None
        self._lock = threading.Lock()
        self._reload_lock = threading.Lock()

    def _engine_for(self, path: Path) -> FaceEngine:
        """The configured engine, or (a database made with other embedders this version has) one
        for that database's, made once and kept."""
        models = database_models(path)
        engine = FaceEngine.for_database(models)
        key = tuple(engine.embedder_names)
        if key not in self._engines:
            self._engines[key] = engine.load()
        return self._engines[key]

    def _open(self, path: Path) -> Recognizer:
        engine = self._engine_for(path)
        db = FaceDatabase.open(path, [EmbedderInfo.from_embedder(e) for e in engine.embedders])
        try:
            db.load_indices()
            matcher = Matcher(db)
        except Exception:
            db.close()
            raise
        return Recognizer(db, matcher, path, engine)

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
