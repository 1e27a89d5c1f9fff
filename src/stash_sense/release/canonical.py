"""The published form of a database, rebuilt so that the same content always gives the same bytes.

SQLite files are not byte-stable under edits (free pages, row order, the library version in the
header), and Voyager's parallel insertion is not deterministic. A release therefore holds a
*canonical* generation: a fresh SQLite file filled table by table in a fixed order, with the
header's "last written by library version" fields zeroed, and indices built on one thread with a
fixed seed. Applying a delta rebuilds the same way, so its result can be checked byte for byte
against the maintainer's hashes.
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
from stash_sense.database.publish import build_index, sha256_file
from stash_sense.database.records import EmbedderInfo
from stash_sense.database.schema import DDL
from stash_sense.faces.cores import worker_threads
from stash_sense.release.errors import ReleaseError

_LIVE = "performer_id IN (SELECT id FROM performers WHERE deleted = 0)"
_LIVE_FACE = "face_id IN (SELECT f.id FROM faces f JOIN performers p ON p.id = f.performer_id "
_LIVE_FACE += "WHERE p.deleted = 0)"

# (table, columns, filter, order): the tables a release carries, in the order they are written.
# `skipped_images` and `state` are the builder's bookkeeping and stay out of releases.
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


def write_generation_manifest(folder: Path, data: dict[str, Any]) -> Path:
    """`manifest.json` exactly as a release describes it (the same bytes on every machine)."""
    path = folder / MANIFEST_NAME
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def build_generation(
    src: sqlite3.Connection, folder: Path, database_manifest: dict[str, Any]
) -> dict[str, Any]:
    """Write a canonical generation into `folder` from `src`; returns its manifest.json content.

    `database_manifest` is the generation manifest's content; its `counts` and `files` are
    replaced by those of what was written.
    """
    from stash_sense.database.publish import count_rows

    folder.mkdir(parents=True, exist_ok=True)
    sqlite_path = write_canonical_sqlite(src, folder / SQLITE_NAME)
    files = {SQLITE_NAME: sha256_file(sqlite_path)}
    uri = f"file:{sqlite_path}?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True)) as copy:
        counts = count_rows(copy)

    def index(name: str) -> Path:
        # each index is built on one thread (reproducible); the indices build side by side
        info = EmbedderInfo.from_manifest(name, database_manifest["models"][name])
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as conn:
            path = build_index(conn, info, folder / index_name(name), reproducible=True)
        return path

    names = list(database_manifest["models"])
    with ThreadPoolExecutor(max_workers=min(len(names), worker_threads()) or 1) as pool:
        for path in pool.map(index, names):
            files[path.name] = sha256_file(path)
    data = {**database_manifest, "counts": counts, "files": files}
    write_generation_manifest(folder, data)
    return data


def file_entries(folder: Path, names: list[str]) -> list[dict[str, Any]]:
    """Name, size and sha256 of each named file in `folder`."""
    out = []
    for name in names:
        path = folder / name
        if not path.is_file():
            raise ReleaseError(f"{folder} lacks {name}")
        out.append({"name": name, "size": path.stat().st_size, "sha256": sha256_file(path)})
    return out
