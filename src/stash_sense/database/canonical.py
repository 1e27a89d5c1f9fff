"""The canonical export of a database: the same content always gives the same bytes.

SQLite files are not byte-stable under edits (free pages, row order, the library version in the
header), and Voyager's parallel insertion is not deterministic. Releases therefore carry a
*canonical* generation: a fresh SQLite file filled table by table in a fixed order, with the
header's "last written by library version" fields zeroed, and indices built on one thread with a
fixed seed. Applying a diff (`diff.py`) and exporting again gives the same files byte for byte.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from stash_sense.database.layout import SQLITE_NAME, index_name
from stash_sense.database.manifest import MANIFEST_NAME
from stash_sense.database.publish import build_index, count_rows, sha256_file
from stash_sense.database.records import EmbedderInfo
from stash_sense.database.schema import DDL, connect_readonly
from stash_sense.faces.cores import worker_threads

_LIVE = "performer_id IN (SELECT id FROM performers WHERE deleted = 0)"
_LIVE_FACE = "face_id IN (SELECT f.id FROM faces f JOIN performers p ON p.id = f.performer_id "
_LIVE_FACE += "WHERE p.deleted = 0)"

# (table, columns, filter, order): the tables a canonical export carries, in the order they are
# written. The builder's bookkeeping (skips, retries, merged ids, state) stays out.
TABLES: list[tuple[str, str, str, str]] = [
    ("meta", "key, value", "1", "key"),
    (
        "performers",
        "id, name, disambiguation, gender, country, birthdate, primary_source, deleted, "
        "created_at, updated_at",
        "deleted = 0",
        "id",
    ),
    ("aliases", "performer_id, alias", _LIVE, "performer_id, alias"),
    # readers list a performer's stash ids in stored order: keep it within each performer
    ("stash_ids", "performer_id, endpoint, stash_id", _LIVE, "performer_id, rowid"),
    ("image_urls", "performer_id, url, position", _LIVE, "performer_id, position, url"),
    ("external_urls", "performer_id, url, site", _LIVE, "performer_id, url"),
    (
        "faces",
        "id, performer_id, source, source_image, face_index, box_x, box_y, box_w, box_h, "
        "detection_score, quality, created_at",
        _LIVE,
        "id",
    ),
    ("embeddings", "face_id, embedder, vector", _LIVE_FACE, "face_id, embedder"),
]
PAGE_SIZE = 4096
_BATCH = 20_000
# File header bytes 92..99: "version-valid-for" and the SQLite library version that last wrote
# the file (sqlite.org/fileformat2.html, 1.3.17/1.3.18); informational, and the only bytes that
# differ between library versions for the same writes.
_HEADER_VERSION = slice(92, 100)


def write_canonical_sqlite(src: sqlite3.Connection, dest: Path) -> Path:
    """Copy the live content of `src` into a new file `dest` in the canonical order."""
    dest.unlink(missing_ok=True)
    with contextlib.closing(sqlite3.connect(dest, isolation_level=None)) as out:
        out.execute(f"PRAGMA page_size={PAGE_SIZE}")
        out.execute("PRAGMA journal_mode=DELETE")
        out.executescript(DDL)
        out.execute("BEGIN")
        for table, columns, where, order in TABLES:
            marks = ",".join("?" * len(columns.split(",")))
            cur = src.execute(f"SELECT {columns} FROM {table} WHERE {where} ORDER BY {order}")
            while rows := cur.fetchmany(_BATCH):
                out.executemany(f"INSERT INTO {table}({columns}) VALUES ({marks})", rows)
        out.execute("COMMIT")
    with dest.open("r+b") as f:
        f.seek(_HEADER_VERSION.start)
        f.write(bytes(_HEADER_VERSION.stop - _HEADER_VERSION.start))
    return dest


def export_canonical(src: Path, folder: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """Write the canonical generation of the SQLite file `src` into `folder`; returns the
    content of the `manifest.json` written there.

    `manifest` is the generation manifest's content; its `counts` and `files` are replaced by
    those of what was written, and it is written as given (the same bytes on every machine).
    """
    folder.mkdir(parents=True, exist_ok=True)
    with contextlib.closing(connect_readonly(src)) as conn:
        sqlite_path = write_canonical_sqlite(conn, folder / SQLITE_NAME)
    files = {SQLITE_NAME: sha256_file(sqlite_path)}
    with contextlib.closing(connect_readonly(sqlite_path)) as copy:
        counts = count_rows(copy)

    def index(name: str) -> Path:
        # each index is built on one thread (reproducible); the indices build side by side
        info = EmbedderInfo.from_manifest(name, manifest["models"][name])
        with contextlib.closing(connect_readonly(sqlite_path)) as conn:
            return build_index(conn, info, folder / index_name(name), reproducible=True)

    names = list(manifest["models"])
    with ThreadPoolExecutor(max_workers=min(len(names), worker_threads()) or 1) as pool:
        for path in pool.map(index, names):
            files[path.name] = sha256_file(path)
    data = {**manifest, "counts": counts, "files": files}
    (folder / MANIFEST_NAME).write_text(json.dumps(data, indent=2) + "\n")
    return data
