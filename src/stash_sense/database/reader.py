"""Read access to one published generation: manifest, Voyager indices and performer details."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stash_sense.database.errors import DatabaseError
from stash_sense.database.layout import SQLITE_NAME, index_name, resolve_generation
from stash_sense.database.manifest import Manifest, check_models
from stash_sense.database.records import EmbedderInfo
from stash_sense.database.schema import connect_readonly, stash_id_owner

if TYPE_CHECKING:
    from voyager import Index


@dataclass
class PerformerInfo:
    """What a match reports about a performer."""

    id: int
    name: str
    disambiguation: str | None
    gender: str | None
    country: str | None
    birthdate: str | None
    deleted: bool
    stash_ids: list[dict[str, str]] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    image_url: str | None = None


def database_models(path: Path) -> list[str]:
    """The embedders a database was made with, in its manifest's order ([] when it cannot be
    read: opening it then says why)."""
    try:
        return list(Manifest.read(resolve_generation(Path(path))).models)
    except (DatabaseError, OSError, ValueError):
        return []


class FaceDatabase:
    """A published generation opened read-only (it may live in a read-only folder)."""

    def __init__(
        self, folder: Path, manifest: Manifest, conn: sqlite3.Connection, usable: list[str]
    ):
        self.path = folder
        self.manifest = manifest
        self.embedder_names = usable
        self._conn = conn
        self._indices: dict[str, Index] = {}
        self._lock = threading.Lock()

    @classmethod
    def open(cls, path: Path, embedders: Sequence[EmbedderInfo] | None = None) -> FaceDatabase:
        """Open a DB root (through `current`) or a generation folder.

        With `embedders` (the engine's models), refuse a database made with different models.
        """
        folder = resolve_generation(Path(path))
        manifest = Manifest.read(folder)
        usable = list(manifest.models)
        if embedders is not None:
            usable = check_models(manifest.models, embedders, f"the database {path}")
        for name in usable:
            if not (folder / index_name(name)).is_file():
                raise DatabaseError(f"database {folder} is incomplete: missing {index_name(name)}")
        conn = connect_readonly(folder / SQLITE_NAME)
        return cls(folder, manifest, conn, usable)

    def close(self) -> None:
        self._conn.close()
        self._indices.clear()

    def __enter__(self) -> FaceDatabase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def index(self, embedder: str) -> Index:
        """The Voyager index of one embedder, loaded on first use."""
        with self._lock:
            if embedder not in self._indices:
                from voyager import Index, Space

                path = self.path / index_name(embedder)
                if self.manifest.counts.get("faces", 0) == 0:
                    # voyager cannot load an index it saved empty
                    dim = self.manifest.models[embedder].dim
                    self._indices[embedder] = Index(Space.Cosine, num_dimensions=dim)
                    return self._indices[embedder]
                try:
                    self._indices[embedder] = Index.load(str(path))
                except Exception as err:  # voyager raises RuntimeError and friends
                    raise DatabaseError(f"cannot load {path}: {err}") from None
            return self._indices[embedder]

    def load_indices(self) -> None:
        for name in self.embedder_names:
            self.index(name)

    def face_performers(self, face_ids: Iterable[int]) -> dict[int, int]:
        """Performer id of each face id."""
        ids = list({int(i) for i in face_ids})
        out: dict[int, int] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for fid, pid in self._conn.execute(
                f"SELECT id, performer_id FROM faces WHERE id IN ({marks})", chunk
            ):
                out[int(fid)] = int(pid)
        return out

    def performers(self, performer_ids: Iterable[int]) -> dict[int, PerformerInfo]:
        """Details of these performers: names, stash ids, aliases, first image url."""
        ids = list({int(i) for i in performer_ids})
        out: dict[int, PerformerInfo] = {}
        if not ids:
            return out
        marks = ",".join("?" * len(ids))
        for row in self._conn.execute(
            "SELECT id, name, disambiguation, gender, country, birthdate, deleted "
            f"FROM performers WHERE id IN ({marks})",
            ids,
        ):
            out[int(row[0])] = PerformerInfo(
                id=int(row[0]),
                name=row[1],
                disambiguation=row[2],
                gender=row[3],
                country=row[4],
                birthdate=row[5],
                deleted=bool(row[6]),
            )
        for pid, endpoint, stash_id in self._conn.execute(
            "SELECT performer_id, endpoint, stash_id FROM stash_ids "
            f"WHERE performer_id IN ({marks}) "
            "ORDER BY rowid",
            ids,
        ):
            out[int(pid)].stash_ids.append({"endpoint": endpoint, "stash_id": stash_id})
        for pid, alias in self._conn.execute(
            "SELECT performer_id, alias FROM aliases "
            f"WHERE performer_id IN ({marks}) ORDER BY alias",
            ids,
        ):
            out[int(pid)].aliases.append(alias)
        for pid, url in self._conn.execute(
            f"SELECT performer_id, url FROM image_urls WHERE performer_id IN ({marks}) "
            "ORDER BY position",
            ids,
        ):
            if out[int(pid)].image_url is None:
                out[int(pid)].image_url = url
        return out

    def performer_ids_by_name(self, name: str) -> list[int]:
        """Performers called `name` (or with it as an alias), case-insensitive."""
        rows = self._conn.execute(
            "SELECT id FROM performers WHERE name = ? COLLATE NOCASE AND deleted = 0 "
            "UNION SELECT performer_id FROM aliases WHERE alias = ? COLLATE NOCASE",
            (name, name),
        )
        return sorted(int(r[0]) for r in rows)

    def performer_by_stash_id(self, endpoint: str, stash_id: str) -> int | None:
        """The performer holding this stash id; an id merged away upstream finds the survivor."""
        return stash_id_owner(self._conn, endpoint, stash_id)

    def stash_ids_per_endpoint(self) -> dict[str, int]:
        """How many stash ids the database holds for each endpoint."""
        rows = self._conn.execute(
            "SELECT endpoint, COUNT(*) FROM stash_ids GROUP BY endpoint ORDER BY endpoint"
        )
        return {str(endpoint): int(n) for endpoint, n in rows}

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a read-only SQL query (for merging, inside the database package)."""
        return list(self._conn.execute(sql, params))

    def file_sizes(self) -> dict[str, int]:
        return {p.name: p.stat().st_size for p in sorted(self.path.iterdir()) if p.is_file()}
