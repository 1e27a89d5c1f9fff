"""A diff (`diff.py`) applied to a generation in place of a canonical rebuild: the SQLite file
patched, each Voyager index loaded and changed where the diff says (faces removed are marked
deleted, new and changed faces added), then the result checked against the signed content.

The cost follows the change, not the database: at 370,000 faces a 1% delta touches 3,700
vectors per index instead of inserting 370,000 on one thread (docs/scale.md). The files are not
the canonical ones byte for byte; what is checked is the content. With the signed set hashes of
the base and of the result (`sethash.py`), only what the diff touches is hashed and compared:
the base's files are first checked against the sha256 its generation recorded, the set hash is
updated with the touched performers and faces, and each index's touched faces are compared with
the database. Without them (older manifests), the SQLite file's whole `content_digest` and every
index entry are checked (`content.check_index`).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from stash_sense.database.content import check_index, content_digest, live_vectors
from stash_sense.database.diff import apply_diff
from stash_sense.database.errors import DatabaseError
from stash_sense.database.index_patch import check_base_files, patch_index
from stash_sense.database.layout import SQLITE_NAME, index_name
from stash_sense.database.records import EmbedderInfo
from stash_sense.database.schema import connect_readonly, readonly_uri
from stash_sense.database.sethash import SetHash, updated

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


def touched(base: sqlite3.Connection, diff_db: Path) -> tuple[list[int], list[int]]:
    """The performer and face ids whose content a diff may change: every id it removes or holds
    a row of, and the faces of those performers in `base` (a performer's liveness is theirs)."""
    performers: set[int] = set()
    faces: set[int] = set()
    with contextlib.closing(sqlite3.connect(readonly_uri(diff_db), uri=True)) as conn:
        for kind, target in (("performer", performers), ("face", faces)):
            target.update(int(r[0]) for r in conn.execute(SQL_REMOVED, (kind,)))
        for table, key in TOUCHED:
            target = faces if key == "face_id" or table == "faces" else performers
            target.update(int(r[0]) for r in conn.execute(f"SELECT {key} FROM {table}"))
    ordered = sorted(performers)
    for start in range(0, len(ordered), 5_000):
        chunk = json.dumps(ordered[start : start + 5_000])
        sql = "SELECT id FROM faces WHERE performer_id IN (SELECT value FROM json_each(?))"
        faces.update(int(r[0]) for r in base.execute(sql, (chunk,)))
    return ordered, sorted(faces)


SQL_REMOVED = "SELECT id FROM removed WHERE kind = ?"
TOUCHED = [
    ("performers", "id"),
    ("aliases", "performer_id"),
    ("stash_ids", "performer_id"),
    ("image_urls", "performer_id"),
    ("external_urls", "performer_id"),
    ("faces", "id"),
    ("embeddings", "face_id"),
]


def apply_incremental(
    base: Path,
    diff_db: Path,
    dest: Path,
    embedders: list[EmbedderInfo],
    content: str,
    probe: int = 500,
    sets: tuple[str, str] | None = None,
) -> Path:
    """Write into the folder `dest` the generation `base` with the diff applied: its SQLite file
    and one index per embedder, updated from `base`'s indices; returns `dest`.

    `sets`: the signed set hashes (hex) of the base and of the result: the base's files are
    checked against its `manifest.json`, then only what the diff touches is hashed and checked.
    Without them, the result's `content_digest` must be `content` and every index entry is
    checked. DatabaseError when anything is not the signed content.
    """
    from voyager import Index

    dest.mkdir(parents=True, exist_ok=True)
    if sets is not None:
        check_base_files(base, [SQLITE_NAME, *(index_name(i.name) for i in embedders)])
    try:
        sqlite_path = apply_diff(base / SQLITE_NAME, diff_db, dest / SQLITE_NAME)
    except sqlite3.Error as err:
        raise DatabaseError(f"the delta cannot be applied to its base: {err}") from None
    with (
        contextlib.closing(connect_readonly(base / SQLITE_NAME)) as old,
        contextlib.closing(connect_readonly(sqlite_path)) as conn,
    ):
        if sets is None:
            faces: list[int] = []
            ok = content_digest(conn) == content
        else:
            performers, faces = touched(old, diff_db)
            ok = updated(SetHash.from_hex(sets[0]), old, conn, performers, faces) == (
                SetHash.from_hex(sets[1])
            )
        if not ok:
            raise DatabaseError("the updated database's content differs from the signed content")
        for info in embedders:
            try:
                index = Index.load(str(base / index_name(info.name)))
            except Exception as err:  # voyager raises RuntimeError and friends
                raise DatabaseError(f"cannot load the base {info.name} index: {err}") from None
            name = f"the updated {info.name} index"
            if sets is None:
                _update(index, diff_db, info, index_change(diff_db))
                ids, vectors = live_vectors(conn, info)
                check_index(index, ids, vectors, probe=probe, name=name)
            else:
                patch_index(index, conn, info, faces, probe=probe, name=name)
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
