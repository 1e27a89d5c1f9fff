"""A Voyager index brought up to date with the faces a delta touched, and checked on those faces
only: the rest of the index is the base's, whose file is checked against the sha256 its
generation recorded when it was installed (`check_base_files`).

After `patch_index`, every touched face id is alive in the index exactly when the database holds
it live, with the database's vector; untouched ids are as they were in the verified base, so the
index holds exactly the database's live faces. A sample of the touched faces and of all faces
must still be found as their own nearest (`content.probe_index`): a badly patched graph loses
recall, never content.
"""

from __future__ import annotations

import contextlib
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from stash_sense.database.canonical import TABLES
from stash_sense.database.content import probe_index
from stash_sense.database.errors import DatabaseError
from stash_sense.database.manifest import MANIFEST_NAME
from stash_sense.database.records import EmbedderInfo
from stash_sense.net.digest import sha256_file

if TYPE_CHECKING:
    import sqlite3

    from voyager import Index

_LIVE_FACE = {t[0]: t for t in TABLES}["embeddings"][2]
_CHUNK = 5_000


def check_base_files(base: Path, names: list[str]) -> None:
    """Raise DatabaseError unless each of these files of the generation `base` has the sha256
    its `manifest.json` lists (the files hashed side by side)."""
    try:
        files = json.loads((base / MANIFEST_NAME).read_text())["files"]
    except (OSError, ValueError, KeyError, TypeError):
        raise DatabaseError(f"{base / MANIFEST_NAME} does not list the base's files") from None

    def same(name: str) -> bool:
        try:
            return isinstance(files, dict) and files.get(name) == sha256_file(base / name)
        except OSError:
            return False

    with ThreadPoolExecutor(max_workers=len(names) or 1) as pool:
        for name, ok in zip(names, pool.map(same, names), strict=True):
            if not ok:
                raise DatabaseError(
                    f"the base's {name} is not the database's installed file "
                    f"(its sha256 is not the one {MANIFEST_NAME} lists)"
                )


def live_vectors_of(
    conn: sqlite3.Connection, info: EmbedderInfo, faces: list[int]
) -> dict[int, np.ndarray]:
    """The vectors of one embedder of those of `faces` the database holds live."""
    out: dict[int, np.ndarray] = {}
    sql = (
        "SELECT face_id, vector FROM embeddings WHERE embedder = ? AND "
        f"{_LIVE_FACE} AND face_id IN (SELECT value FROM json_each(?))"
    )
    for start in range(0, len(faces), _CHUNK):
        chunk = json.dumps(faces[start : start + _CHUNK])
        for fid, blob in conn.execute(sql, (info.name, chunk)):
            vector = np.frombuffer(blob, dtype=np.float32)
            if vector.size != info.dim:
                raise DatabaseError(f"face {fid}'s {info.name} vector is not {info.dim}-dim")
            out[int(fid)] = vector
    return out


def _alive(index: Index, fid: int) -> np.ndarray | None:
    try:
        return np.asarray(index.get_vector(fid), dtype=np.float32)
    except (KeyError, RuntimeError, IndexError):
        return None


def patch_index(
    index: Index,
    conn: sqlite3.Connection,
    info: EmbedderInfo,
    faces: list[int],
    *,
    probe: int = 500,
    name: str = "index",
) -> None:
    """Bring `index` up to date with the database `conn` on the face ids `faces` (every face a
    delta touched), then check those faces; DatabaseError when the result is not the database's."""
    live = live_vectors_of(conn, info, faces)
    add: list[int] = []
    for fid in faces:
        held = _alive(index, fid)
        want = live.get(fid)
        if want is None:
            if held is not None:
                index.mark_deleted(fid)
        elif held is None or not np.array_equal(held, want):
            add.append(fid)
    known = {int(i) for i in index.ids} if add else set()
    for fid in add:
        if fid in known:
            with contextlib.suppress(RuntimeError):  # not marked deleted
                index.unmark_deleted(fid)
    if add:
        index.add_items(np.stack([live[f] for f in add]), add, num_threads=-1)
    for fid in faces:
        held, want = _alive(index, fid), live.get(fid)
        if (held is None) != (want is None):
            raise DatabaseError(f"{name} disagrees with the database on face {fid}")
        same = held is None or want is None or np.allclose(held, want, rtol=0.0, atol=1e-6)
        if not same:
            raise DatabaseError(f"{name} holds vectors that are not the database's")
    every = [
        int(r[0])
        for r in conn.execute(
            f"SELECT face_id FROM embeddings WHERE embedder = ? AND {_LIVE_FACE}", (info.name,)
        )
    ]
    changed = np.asarray(add, dtype=np.int64)
    if len(changed):
        vectors = np.stack([live[f] for f in add])
        probe_index(index, changed, vectors, probe=probe, name=name, live=len(every))
    _probe_all(index, every, probe=probe, name=name)


def _probe_all(index: Index, rows: list[int], *, probe: int, name: str) -> None:
    """The recall probe over a sample of every live face (vectors as the index holds them)."""
    if not probe or not rows:
        return
    rng = np.random.default_rng(1)
    picked = sorted(int(i) for i in rng.choice(rows, size=min(probe, len(rows)), replace=False))
    vectors = {f: _alive(index, f) for f in picked}
    ids = np.asarray([f for f, v in vectors.items() if v is not None], dtype=np.int64)
    if len(ids) < len(picked):
        raise DatabaseError(f"{name} lacks faces the database holds")
    found = np.stack([vectors[int(f)] for f in ids])  # type: ignore[misc]
    probe_index(index, ids, found, probe=probe, name=name, live=len(rows))
