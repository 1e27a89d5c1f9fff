"""A diff (`diff.py`) applied to a generation in place of a canonical rebuild: the SQLite file
patched, each Voyager index loaded and changed where the diff says (faces removed are marked
deleted, new and changed faces added), then every result checked against the content.

The cost follows the change, not the database: at 370,000 faces a 1% delta touches 3,700
vectors per index instead of inserting 370,000 on one thread (docs/scale.md). The files are not
the canonical ones byte for byte; what is checked is the content: the SQLite file's
`content_digest` (which a release signs) and, per index, that it holds exactly the database's
faces with their vectors and finds them (`content.check_index`).
"""

from __future__ import annotations

import contextlib
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from stash_sense.database.content import check_index, content_digest, live_vectors
from stash_sense.database.diff import apply_diff
from stash_sense.database.errors import DatabaseError
from stash_sense.database.layout import SQLITE_NAME, index_name
from stash_sense.database.records import EmbedderInfo
from stash_sense.database.schema import connect_readonly, readonly_uri

if TYPE_CHECKING:
    from voyager import Index


@dataclass(frozen=True)
class IndexChange:
    """What one diff does to the indices: face ids to drop, face ids to (re)insert."""

    removed: list[int]
    upserted: list[int]


def index_change(diff_db: Path) -> IndexChange:
    """The faces a diff removes and the faces it adds or changes (their rows and vectors)."""
    with contextlib.closing(sqlite3.connect(readonly_uri(diff_db), uri=True)) as conn:
        removed = [int(r[0]) for r in conn.execute("SELECT id FROM removed WHERE kind = 'face'")]
        upserted = [int(r[0]) for r in conn.execute("SELECT id FROM faces ORDER BY id")]
    return IndexChange(sorted(removed), upserted)


def apply_incremental(
    base: Path,
    diff_db: Path,
    dest: Path,
    embedders: list[EmbedderInfo],
    content: str,
    probe: int = 500,
) -> Path:
    """Write into the folder `dest` the generation `base` with the diff applied: its SQLite file
    (whose `content_digest` must be `content`, the signed one) and one index per embedder,
    updated from `base`'s indices and checked against it; returns `dest`.
    """
    from voyager import Index

    dest.mkdir(parents=True, exist_ok=True)
    sqlite_path = apply_diff(base / SQLITE_NAME, diff_db, dest / SQLITE_NAME)
    change = index_change(diff_db)
    with contextlib.closing(connect_readonly(sqlite_path)) as conn:
        if content_digest(conn) != content:
            raise DatabaseError("the updated database's content differs from the signed content")
        for info in embedders:
            try:
                index = Index.load(str(base / index_name(info.name)))
            except Exception as err:  # voyager raises RuntimeError and friends
                raise DatabaseError(f"cannot load the base {info.name} index: {err}") from None
            _update(index, diff_db, info, change)
            ids, vectors = live_vectors(conn, info)
            check_index(index, ids, vectors, probe=probe, name=f"the updated {info.name} index")
            index.save(str(dest / index_name(info.name)))
    return dest


def _update(index: Index, diff_db: Path, info: EmbedderInfo, change: IndexChange) -> None:
    """Mark the removed faces deleted; insert the diff's new and changed faces' vectors."""
    known = {int(i) for i in index.ids}
    for fid in change.removed:
        if fid in known:
            with contextlib.suppress(RuntimeError):  # already marked deleted
                index.mark_deleted(fid)
    with contextlib.closing(sqlite3.connect(readonly_uri(diff_db), uri=True)) as conn:
        rows = conn.execute(
            "SELECT face_id, vector FROM embeddings WHERE embedder = ? ORDER BY face_id",
            (info.name,),
        ).fetchall()
    ids = [int(r[0]) for r in rows]
    vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).copy()
    if vectors.size != len(ids) * info.dim:
        raise DatabaseError(f"the diff's {info.name} vectors are not {info.dim}-dimensional")
    for fid in ids:
        if fid in known:
            with contextlib.suppress(RuntimeError):  # not marked deleted
                index.unmark_deleted(fid)
    if ids:
        index.add_items(vectors.reshape(len(ids), info.dim), ids, num_threads=-1)
