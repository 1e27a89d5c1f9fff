"""A database's content as an incremental set hash (LtHash16), so that a delta's result is checked
at the cost of what it changed instead of rehashing every row and vector.

The content is the live rows a canonical export carries (`canonical.TABLES`), grouped into
*elements*: the `meta` table; each live performer with its aliases, stash ids and URLs; each live
face with its vectors. An element is encoded canonically (typed, length-prefixed values, table
tags, rows in canonical order) and expanded by SHAKE128 into 1,024 16-bit lanes; the set hash is
the lane-wise sum mod 2^16 of all elements (Bellare-Micciancio's additive hash with the LtHash
parameters of Lewi et al., "Securing Update Propagation with Homomorphic Hashing", 2019, which
Facebook uses for the same job; its security reduces to the SIS lattice problem, about 200 bits
for n = 1024, q = 2^16). A short output would not do: a sum of 256-bit hashes mod 2^256 falls to
Wagner's generalised birthday attack in about 2^32 work, which is why the state is 2,048 bytes.

Adding and removing elements commute, so the installer takes the signed state of the base,
subtracts the elements a delta touches as they were and adds them as they are, and compares the
result with the signed state of the new release (`update`). Order never matters.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import struct
from collections.abc import Iterable, Sequence

import numpy as np

from stash_sense.database.canonical import TABLES
from stash_sense.database.content import encode_value
from stash_sense.database.errors import DatabaseError

LANES = 1024
STATE_BYTES = LANES * 2
_TABLE = {t[0]: t for t in TABLES}
#: the tables of each kind of element, in encoding order; the first is the element's own row
PERFORMER_TABLES = ("performers", "aliases", "stash_ids", "image_urls", "external_urls")
FACE_TABLES = ("faces", "embeddings")
_KEY = {"performers": "id", "faces": "id", "embeddings": "face_id"}
_CHUNK = 20_000  # keys a query reads at once (each query evaluates the liveness filter once)


def _key(table: str) -> str:
    return _KEY.get(table, "performer_id")


def _lanes(data: Iterable[bytes]) -> np.ndarray:
    """The lane-wise sum (mod 2^16) of the elements whose encodings are `data`."""
    raw = b"".join(hashlib.shake_128(d).digest(STATE_BYTES) for d in data)
    if not raw:
        return np.zeros(LANES, np.uint16)
    rows = np.frombuffer(raw, dtype="<u2").reshape(-1, LANES)
    return (rows.sum(axis=0, dtype=np.uint64) & 0xFFFF).astype(np.uint16)


class SetHash:
    """An LtHash16 state: a multiset of elements, updated by adding and removing them."""

    def __init__(self, state: np.ndarray | None = None) -> None:
        self.state = np.zeros(LANES, np.uint16) if state is None else state.astype(np.uint16)

    @classmethod
    def from_hex(cls, text: object) -> SetHash:
        """A state as a manifest carries it; DatabaseError when it is not one."""
        try:
            raw = bytes.fromhex(str(text))
        except ValueError:
            raw = b""
        if len(raw) != STATE_BYTES:
            raise DatabaseError("a content set hash is not 2,048 bytes of hex")
        return cls(np.frombuffer(raw, dtype="<u2"))

    def hex(self) -> str:
        return self.state.astype("<u2").tobytes().hex()

    def add(self, lanes: np.ndarray) -> None:
        self.state = self.state + lanes  # uint16 arithmetic wraps: mod 2^16

    def remove(self, lanes: np.ndarray) -> None:
        self.state = self.state - lanes

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SetHash) and bool(np.array_equal(self.state, other.state))

    __hash__ = None  # type: ignore[assignment]


def _encode_rows(tag: bytes, rows: Iterable[Sequence[object]]) -> bytes:
    return b"".join(tag + b"".join(encode_value(v) for v in row) for row in rows)


def _meta(conn: sqlite3.Connection) -> bytes:
    _name, columns, where, order = _TABLE["meta"]
    rows = conn.execute(f"SELECT {columns} FROM meta WHERE {where} ORDER BY {order}")
    return b"M" + _encode_rows(b"R", rows)


def _elements(
    conn: sqlite3.Connection, kind: str, keys: Sequence[int], *, span: bool
) -> list[bytes]:
    """The encodings of the live elements of `kind` ("P" performers, "F" faces) among `keys`
    (ascending; `span`: every key between the first and the last, else exactly these)."""
    if not keys:
        return []
    groups: dict[int, bytearray] = {}
    tables = PERFORMER_TABLES if kind == "P" else FACE_TABLES
    for tag, table in enumerate(tables):
        _name, columns, where, order = _TABLE[table]
        key = _key(table)
        params: list[object]
        if span:
            chosen, params = f"{key} BETWEEN ? AND ?", [keys[0], keys[-1]]
        else:
            chosen, params = f"{key} IN (SELECT value FROM json_each(?))", [json.dumps(keys)]
        at = [c.strip() for c in columns.split(",")].index(key)
        sql = f"SELECT {columns} FROM {table} WHERE ({where}) AND {chosen} ORDER BY {order}"
        prefix = b"R" + bytes([tag])
        for row in conn.execute(sql, params):
            owner = int(row[at])
            if tag == 0:
                groups[owner] = bytearray(kind.encode() + struct.pack("<q", owner))
            elif owner not in groups:
                continue  # a child row whose own row is not live is not content
            groups[owner] += _encode_rows(prefix, [row])
    return [bytes(g) for g in groups.values()]


def _chunks(keys: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(keys), _CHUNK):
        yield keys[start : start + _CHUNK]


def set_hash(conn: sqlite3.Connection) -> SetHash:
    """The set hash of a database's whole live content."""
    out = SetHash()
    out.add(_lanes([_meta(conn)]))
    for kind, sql in (
        ("P", "SELECT id FROM performers ORDER BY id"),
        ("F", "SELECT id FROM faces ORDER BY id"),
    ):
        keys = [int(r[0]) for r in conn.execute(sql)]
        for chunk in _chunks(keys):
            out.add(_lanes(_elements(conn, kind, chunk, span=True)))
    return out


def part_hash(conn: sqlite3.Connection, performers: Sequence[int], faces: Sequence[int]) -> SetHash:
    """The set hash of the meta table and of the live elements among these performer and face
    ids (what a delta may have changed)."""
    out = SetHash()
    out.add(_lanes([_meta(conn)]))
    for kind, keys in (("P", sorted(set(performers))), ("F", sorted(set(faces)))):
        for chunk in _chunks(keys):
            out.add(_lanes(_elements(conn, kind, chunk, span=False)))
    return out


def updated(
    base: SetHash,
    old: sqlite3.Connection,
    new: sqlite3.Connection,
    performers: Sequence[int],
    faces: Sequence[int],
) -> SetHash:
    """`base` (the set hash of `old`) turned into the set hash of `new`, when every element that
    differs between them is among these performer and face ids."""
    out = SetHash(base.state.copy())
    out.remove(part_hash(old, performers, faces).state)
    out.add(part_hash(new, performers, faces).state)
    return out
