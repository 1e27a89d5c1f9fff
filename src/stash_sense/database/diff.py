"""What changed between two canonical exports, as a small SQLite file, and that change applied.

A diff holds, in the database's own tables, every performer that is new or changed (with all of
its aliases, stash ids and URLs) and every face that is new or changed (with its vectors), plus a
`removed` table of performer and face ids that are gone. Applying it to the old export and
exporting canonically again (`canonical.export_canonical`) gives the new export byte for byte.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from stash_sense.database.canonical import TABLES
from stash_sense.database.schema import DDL, connect_readonly, readonly_uri

_CHILDREN = ("aliases", "stash_ids", "image_urls", "external_urls")
_REMOVED_DDL = "CREATE TABLE removed (kind TEXT NOT NULL, id INTEGER NOT NULL);"
_TABLE = {t[0]: t for t in TABLES}


def _digests(conn: sqlite3.Connection, key: str, tables: Iterable[str]) -> dict[int, bytes]:
    """A sha256 per `key` value over its rows in `tables` (canonical order, so content only)."""
    hashes: dict[int, hashlib._Hash] = {}
    for table in tables:
        _name, columns, _where, order = _TABLE[table]
        first = "id" if table in ("performers", "faces") else key
        for row in conn.execute(f"SELECT {columns} FROM {table} ORDER BY {order}"):
            owner = int(row[columns.split(", ").index(first)])
            hashes.setdefault(owner, hashlib.sha256()).update(repr((table, row)).encode())
    return {k: h.digest() for k, h in hashes.items()}


def _changes(old: dict[int, bytes], new: dict[int, bytes]) -> tuple[list[int], list[int]]:
    upsert = sorted(k for k, h in new.items() if old.get(k) != h)
    removed = sorted(set(old) - set(new))
    return upsert, removed


def write_diff(old_db: Path, new_db: Path, dest: Path) -> dict[str, int]:
    """Write the diff that turns the canonical SQLite `old_db` into `new_db`; returns its
    counts (performers and faces changed, removed)."""
    with (
        contextlib.closing(connect_readonly(old_db)) as old,
        contextlib.closing(connect_readonly(new_db)) as new,
    ):
        perf_up, perf_rm = _changes(
            _digests(old, "performer_id", ("performers", *_CHILDREN)),
            _digests(new, "performer_id", ("performers", *_CHILDREN)),
        )
        face_up, face_rm = _changes(
            _digests(old, "face_id", ("faces", "embeddings")),
            _digests(new, "face_id", ("faces", "embeddings")),
        )
    dest.unlink(missing_ok=True)
    with contextlib.closing(sqlite3.connect(dest, isolation_level=None)) as out:
        out.executescript(DDL + _REMOVED_DDL)
        out.execute("ATTACH DATABASE ? AS src", (readonly_uri(new_db),))
        out.execute("BEGIN")
        out.execute("CREATE TEMP TABLE up_p (id INTEGER PRIMARY KEY)")
        out.execute("CREATE TEMP TABLE up_f (id INTEGER PRIMARY KEY)")
        out.executemany("INSERT INTO up_p VALUES (?)", [(i,) for i in perf_up])
        out.executemany("INSERT INTO up_f VALUES (?)", [(i,) for i in face_up])
        for table, columns, _where, order in TABLES:
            if table == "meta":
                where = "1"
            elif table in ("performers", "faces"):
                where = f"id IN (SELECT id FROM up_{table[0]})"
            elif table == "embeddings":
                where = "face_id IN (SELECT id FROM up_f)"
            else:
                where = "performer_id IN (SELECT id FROM up_p)"
            out.execute(
                f"INSERT INTO main.{table}({columns}) SELECT {columns} FROM src.{table} "
                f"WHERE {where} ORDER BY {order}"
            )
        out.executemany(
            "INSERT INTO removed VALUES (?, ?)",
            [("performer", i) for i in perf_rm] + [("face", i) for i in face_rm],
        )
        out.execute("COMMIT")
        out.execute("DETACH DATABASE src")
        out.execute("VACUUM")
    return {
        "performers_changed": len(perf_up),
        "performers_removed": len(perf_rm),
        "faces_changed": len(face_up),
        "faces_removed": len(face_rm),
    }


def apply_diff(base_db: Path, diff_db: Path, work: Path) -> Path:
    """`work`: a copy of `base_db` with the diff applied (not canonical yet: export it)."""
    shutil.copyfile(base_db, work)
    with contextlib.closing(sqlite3.connect(work, isolation_level=None)) as conn:
        # foreign keys stay off: a changed performer's unchanged faces must not cascade away
        conn.execute("PRAGMA foreign_keys=OFF")
        conn.execute("ATTACH DATABASE ? AS d", (readonly_uri(diff_db),))
        conn.execute("BEGIN")
        gone_p = (
            "SELECT id FROM d.removed WHERE kind = 'performer' UNION SELECT id FROM d.performers"
        )
        gone_f = "SELECT id FROM d.removed WHERE kind = 'face' UNION SELECT id FROM d.faces"
        conn.execute(f"DELETE FROM performers WHERE id IN ({gone_p})")
        for child in _CHILDREN:
            conn.execute(f"DELETE FROM {child} WHERE performer_id IN ({gone_p})")
        conn.execute(f"DELETE FROM faces WHERE id IN ({gone_f})")
        conn.execute(f"DELETE FROM embeddings WHERE face_id IN ({gone_f})")
        conn.execute("DELETE FROM meta")
        for table, columns, _where, order in TABLES:
            conn.execute(
                f"INSERT INTO main.{table}({columns}) SELECT {columns} FROM d.{table} "
                f"ORDER BY {order}"
            )
        conn.execute("COMMIT")
        conn.execute("DETACH DATABASE d")
    return work
