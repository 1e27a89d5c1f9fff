"""Open a recognizer: the face engine a database needs, the database and its matcher.

`open_recognizer` is the CLI's (one database, for one command); `RecognizerHolder` is the
sidecar's: the current recognizer, swapped for a new one (`reload`) while requests still use the
old one. `FaceEngine` is named here so that the sidecar and the CLI can type an engine without
importing the faces package.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from stash_sense.app.errors import InvalidInput
from stash_sense.database import DatabaseError, EmbedderInfo, FaceDatabase, database_models
from stash_sense.faces import FaceEngine
from stash_sense.matching import Matcher

__all__ = [
    "FaceEngine",
    "Matcher",
    "NoDatabase",
    "Recognizer",
    "RecognizerHolder",
    "engine_for",
    "load_engine",
    "open_recognizer",
]


class NoDatabase(RuntimeError):
    """No face database is loaded (the sidecar started without a usable one)."""


@dataclass
class Recognizer:
    """One open database with its matcher and the engine its embedders need; `users` counts the
    requests holding it (the sidecar's)."""

    db: FaceDatabase
    matcher: Matcher
    path: Path
    #: the engine this database's embedders need (FaceEngine.for_database)
    engine: FaceEngine
    users: int = 0
    retired: bool = False

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Recognizer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def load_engine(engine: FaceEngine | None = None) -> FaceEngine:
    """`engine`, or the default one, with every model resolved and verified now."""
    return (engine or FaceEngine.default()).load()


def engine_for(db: Path | None) -> FaceEngine:
    """The engine the database at `db` needs (its embedders when this version has them all; the
    default ensemble otherwise, and for no database)."""
    return FaceEngine.for_database(database_models(db)) if db else FaceEngine.default()


def open_recognizer(
    path: Path, engine: FaceEngine | None = None, *, load_indices: bool = True
) -> Recognizer:
    """Open the database at `path` with `engine` (default: `engine_for(path)`) for matching;
    `load_indices=False` leaves the Voyager indices to load on first use. DatabaseError when the
    database cannot be opened."""
    engine = engine or engine_for(path)
    db = FaceDatabase.open(path, [EmbedderInfo.from_embedder(e) for e in engine.embedders])
    try:
        if load_indices:
            db.load_indices()
        matcher = Matcher(db)
    except Exception:
        db.close()
        raise
    return Recognizer(db, matcher, path, engine)


def _allowed(path: Path, databases: list[Path], data_dir: Path) -> bool:
    """Whether `path` is one of `databases` or lies under `data_dir` (links followed first)."""
    try:
        target = path.resolve()
        return target in (d.resolve() for d in databases) or target.is_relative_to(
            data_dir.resolve()
        )
    except (OSError, RuntimeError, ValueError):  # a link loop, a NUL in the path
        return False


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
        engine = engine_for(path)
        key = tuple(engine.embedder_names)
        if key not in self._engines:
            self._engines[key] = engine.load()
        return self._engines[key]

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
            path = Path(path or self.configured)
            new = open_recognizer(path, self._engine_for(path))
            with self._lock:
                old, self._current = self._current, new
                self.path, self.error = new.path, None
                if old is not None:
                    old.retired = True
                    if old.users == 0:
                        old.close()
            return new

    def reload_within(self, path: Path | None, data_dir: Path) -> Recognizer:
        """`reload(path)` for the configured database or a folder under `data_dir` only; any
        other path is InvalidInput, with the same words whether it exists or not."""
        if path is not None and not _allowed(path, [self.configured], data_dir):
            raise InvalidInput(
                f"no database folder to reload at {path}: only the configured database or a "
                f"folder under the data folder may be loaded"
            )
        return self.reload(path)

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
                    rec.close()

    def close(self) -> None:
        with self._lock:
            if self._current is not None:
                self._current.retired = True
                if self._current.users == 0:
                    self._current.close()
                self._current = None
