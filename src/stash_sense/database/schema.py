"""The SQLite schema of a face database and the helpers that open it for writing or reading."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import quote

from stash_sense.database.errors import DatabaseError
from stash_sense.database.manifest import SCHEMA_VERSION

DDL = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS performers (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    disambiguation TEXT,
    gender TEXT,
    country TEXT,
    birthdate TEXT,
    primary_source TEXT,
    deleted INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE INDEX IF NOT EXISTS performers_name ON performers(name);
CREATE TABLE IF NOT EXISTS aliases (
    performer_id INTEGER NOT NULL REFERENCES performers(id) ON DELETE CASCADE,
    alias TEXT NOT NULL,
    PRIMARY KEY (performer_id, alias)
);
CREATE TABLE IF NOT EXISTS stash_ids (
    performer_id INTEGER NOT NULL REFERENCES performers(id) ON DELETE CASCADE,
    endpoint TEXT NOT NULL,
    stash_id TEXT NOT NULL,
    UNIQUE (endpoint, stash_id)
);
CREATE INDEX IF NOT EXISTS stash_ids_performer ON stash_ids(performer_id);
CREATE TABLE IF NOT EXISTS image_urls (
    performer_id INTEGER NOT NULL REFERENCES performers(id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    position INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (performer_id, url)
);
CREATE TABLE IF NOT EXISTS external_urls (
    performer_id INTEGER NOT NULL REFERENCES performers(id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    site TEXT,
    PRIMARY KEY (performer_id, url)
);
CREATE TABLE IF NOT EXISTS faces (
    id INTEGER PRIMARY KEY,
    performer_id INTEGER NOT NULL REFERENCES performers(id) ON DELETE CASCADE,
    source TEXT NOT NULL,
    source_image TEXT NOT NULL,
    face_index INTEGER NOT NULL DEFAULT 0,
    box_x REAL NOT NULL,
    box_y REAL NOT NULL,
    box_w REAL NOT NULL,
    box_h REAL NOT NULL,
    detection_score REAL NOT NULL,
    quality TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    UNIQUE (source_image, face_index)
);
CREATE INDEX IF NOT EXISTS faces_performer ON faces(performer_id);
CREATE TABLE IF NOT EXISTS embeddings (
    face_id INTEGER NOT NULL REFERENCES faces(id) ON DELETE CASCADE,
    embedder TEXT NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (face_id, embedder)
);
CREATE TABLE IF NOT EXISTS skipped_images (
    source_image TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    performer_id INTEGER REFERENCES performers(id) ON DELETE SET NULL,
    reason TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE TABLE IF NOT EXISTS pending_images (
    source_image TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    performer_id INTEGER REFERENCES performers(id) ON DELETE CASCADE,
    reason TEXT NOT NULL,
    tries INTEGER NOT NULL DEFAULT 0,
    runs INTEGER NOT NULL DEFAULT 0,
    last_run TEXT
);
CREATE TABLE IF NOT EXISTS merged_stash_ids (
    endpoint TEXT NOT NULL,
    stash_id TEXT NOT NULL,
    performer_id INTEGER NOT NULL REFERENCES performers(id) ON DELETE CASCADE,
    PRIMARY KEY (endpoint, stash_id)
);
CREATE TABLE IF NOT EXISTS list_sources (
    performer_id INTEGER NOT NULL REFERENCES performers(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    source TEXT NOT NULL,
    PRIMARY KEY (performer_id, kind, value, source)
);
CREATE TABLE IF NOT EXISTS state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


def connect_writable(path: Path) -> sqlite3.Connection:
    """Open (creating) a staging database in WAL mode with the schema in place."""
    try:
        conn = sqlite3.connect(path, isolation_level=None, timeout=30.0)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.executescript(DDL)
    except sqlite3.Error as err:
        raise DatabaseError(f"cannot open {path} for writing: {err}") from None
    version = get_meta(conn, "schema_version")
    if version is None:
        conn.execute(
            "INSERT INTO meta(key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
        )
    elif version != str(SCHEMA_VERSION):
        conn.close()
        raise DatabaseError(
            f"{path} has database schema version {version}; this stash-sense writes "
            f"version {SCHEMA_VERSION}: start a new database folder"
        )
    return conn


def readonly_uri(path: Path) -> str:
    """The SQLite URI of a file no one writes any more: read-only and `immutable` (so it may live
    in a read-only folder); any character of the path is safe in it."""
    return f"file:{quote(str(path.resolve()))}?mode=ro&immutable=1"


def connect_readonly(path: Path) -> sqlite3.Connection:
    """Open a published database read-only."""
    if not path.is_file():
        raise DatabaseError(f"missing {path}")
    try:
        conn = sqlite3.connect(readonly_uri(path), uri=True, check_same_thread=False)
        version = get_meta(conn, "schema_version")
    except sqlite3.DatabaseError as err:
        raise DatabaseError(f"cannot read {path}: {err}") from None
    if version != str(SCHEMA_VERSION):
        conn.close()
        raise DatabaseError(
            f"{path} has database schema version {version}; this stash-sense reads "
            f"version {SCHEMA_VERSION}"
        )
    return conn


def get_meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def stash_id_owner(conn: sqlite3.Connection, endpoint: str, stash_id: str) -> int | None:
    """The performer holding this stash id (merged-away ids are held by the survivor)."""
    row = conn.execute(
        "SELECT performer_id FROM stash_ids WHERE endpoint = ? AND stash_id = ?",
        (endpoint, stash_id),
    ).fetchone()
    return None if row is None else int(row[0])


def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute(
        "INSERT INTO meta(key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, value),
    )
