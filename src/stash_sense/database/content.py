"""A database's content as one sha256: its rows and vectors in the canonical order, whatever the
bytes of the SQLite file; and a Voyager index's content (which face ids it holds, their vectors).

A canonical export (`canonical.py`) and the same content patched in place (`incremental.py`)
give different files but the same digest, so a release can sign the content and an update can
check what it installed without rebuilding every file canonically.
"""

from __future__ import annotations

import hashlib
import sqlite3
import struct
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from stash_sense.database.canonical import TABLES
from stash_sense.database.errors import DatabaseError
from stash_sense.database.publish import iter_vectors
from stash_sense.database.records import EmbedderInfo

if TYPE_CHECKING:
    from voyager import Index

_BATCH = 20_000


def encode_value(value: Any) -> bytes:
    """One column value, typed and length-prefixed (no two rows encode alike)."""
    if value is None:
        return b"N"
    if isinstance(value, bytes):
        return b"b" + struct.pack("<Q", len(value)) + value
    if isinstance(value, str):
        raw = value.encode()
        return b"s" + struct.pack("<Q", len(raw)) + raw
    if isinstance(value, int):
        return b"i" + struct.pack("<q", value)
    if isinstance(value, float):
        return b"f" + struct.pack("<d", value)
    raise DatabaseError(f"unexpected column value of type {type(value).__name__}")


def content_digest(conn: sqlite3.Connection) -> str:
    """sha256 of the live content (the tables a canonical export carries, in its order)."""
    digest = hashlib.sha256()
    for table, columns, where, order in TABLES:
        digest.update(b"T" + table.encode() + b"\0")
        cur = conn.execute(f"SELECT {columns} FROM {table} WHERE {where} ORDER BY {order}")
        while rows := cur.fetchmany(_BATCH):
            digest.update(b"".join(b"R" + b"".join(encode_value(v) for v in row) for row in rows))
    return digest.hexdigest()


def live_vectors(conn: sqlite3.Connection, info: EmbedderInfo) -> tuple[np.ndarray, np.ndarray]:
    """Face ids (ascending) and vectors of one embedder over the live faces."""
    ids: list[np.ndarray] = []
    vectors: list[np.ndarray] = []
    for batch_ids, batch in iter_vectors(conn, info):
        ids.append(np.asarray(batch_ids, dtype=np.int64))
        vectors.append(batch)
    if not ids:
        return np.zeros(0, np.int64), np.zeros((0, info.dim), np.float32)
    return np.concatenate(ids), np.concatenate(vectors)


def index_digest(index: Index, ids: Sequence[int]) -> str:
    """sha256 of the face ids and the vectors the index holds for them (ascending ids)."""
    digest = hashlib.sha256()
    ordered = sorted(int(i) for i in ids)
    for start in range(0, len(ordered), _BATCH):
        chunk = ordered[start : start + _BATCH]
        digest.update(np.asarray(chunk, dtype="<i8").tobytes())
        digest.update(np.asarray(index.get_vectors(chunk), dtype="<f4").tobytes())
    return digest.hexdigest()


def check_index(
    index: Index,
    ids: np.ndarray,
    vectors: np.ndarray,
    *,
    probe: int = 500,
    query_ef: int = 400,
    name: str = "index",
) -> None:
    """Raise DatabaseError unless `index` holds exactly these face ids with these vectors (every
    other id it knows marked deleted) and finds a sample of them as their own nearest face."""
    live = {int(i) for i in ids}
    known = {int(i) for i in index.ids}
    missing = live - known
    if missing:
        raise DatabaseError(f"{name} lacks {len(missing)} faces (e.g. {min(missing)})")
    for start in range(0, len(ids), _BATCH):
        chunk = [int(i) for i in ids[start : start + _BATCH]]
        got = np.asarray(index.get_vectors(chunk), dtype=np.float32)
        if not np.allclose(got, vectors[start : start + _BATCH], rtol=0.0, atol=1e-6):
            raise DatabaseError(f"{name} holds vectors that are not the database's")
    for extra in _alive(index, known - live):
        raise DatabaseError(f"{name} holds face {extra}, which the database does not")
    probe_index(index, ids, vectors, probe=probe, query_ef=query_ef, name=name)


def probe_index(
    index: Index,
    ids: np.ndarray,
    vectors: np.ndarray,
    *,
    probe: int = 500,
    query_ef: int = 400,
    name: str = "index",
    live: int | None = None,
) -> None:
    """Raise DatabaseError unless the index finds a sample of these stored faces (at most
    `probe`) among their own 10 nearest: a graph damaged or badly patched loses them. `live`:
    how many faces the index holds alive (default: as many as `ids`)."""
    if not len(ids) or not probe:
        return
    rng = np.random.default_rng(0)
    rows = rng.choice(len(ids), size=min(probe, len(ids)), replace=False)
    k = min(10, len(ids) if live is None else live)
    found, _ = index.query(vectors[rows], k=k, query_ef=max(query_ef, k))
    hits = sum(int(ids[r]) in set(np.asarray(f).tolist()) for r, f in zip(rows, found, strict=True))
    if hits < 0.99 * len(rows):
        raise DatabaseError(f"{name} finds only {hits} of {len(rows)} stored faces")


def _alive(index: Index, ids: Iterable[int]) -> list[int]:
    """Those of `ids` that the index would still return (not marked deleted)."""
    out = []
    for i in ids:
        try:
            index.get_vector(i)
        except (KeyError, RuntimeError, IndexError):
            continue
        out.append(i)
    return out
