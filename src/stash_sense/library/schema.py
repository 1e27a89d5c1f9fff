"""The user-state database's schema and its migrations, numbered from 1 (SQLite `user_version`).

Each migration is one script run in one transaction; a database newer than this code is refused
rather than guessed at. Add a migration at the end; never edit one that has shipped.
"""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 1: scans, per-scene results (persons, candidates), decisions (apply / reject, undoable)
    """
    CREATE TABLE scans (
        id INTEGER PRIMARY KEY,
        scope TEXT NOT NULL,
        since TEXT,
        status TEXT NOT NULL,
        reason TEXT,
        started_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        finished_at REAL,
        total INTEGER NOT NULL DEFAULT 0,
        done INTEGER NOT NULL DEFAULT 0,
        failed INTEGER NOT NULL DEFAULT 0,
        watermark TEXT
    );
    CREATE TABLE scenes (
        scene_id TEXT PRIMARY KEY,
        stash_updated_at TEXT NOT NULL,
        title TEXT,
        date TEXT,
        studio TEXT,
        status TEXT NOT NULL CHECK (status IN ('done', 'failed')),
        reason TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        scan_id INTEGER,
        scanned_at REAL NOT NULL,
        source TEXT,
        elapsed_s REAL,
        logic_version INTEGER NOT NULL
    );
    CREATE INDEX scenes_status ON scenes (status);
    CREATE TABLE persons (
        scene_id TEXT NOT NULL REFERENCES scenes (scene_id) ON DELETE CASCADE,
        person_id INTEGER NOT NULL,
        frames INTEGER NOT NULL,
        times TEXT NOT NULL,
        face_jpeg TEXT,
        embedder TEXT,
        vector BLOB,
        PRIMARY KEY (scene_id, person_id)
    );
    CREATE TABLE candidates (
        scene_id TEXT NOT NULL,
        person_id INTEGER NOT NULL,
        rank INTEGER NOT NULL,
        performer_id INTEGER NOT NULL,
        name TEXT NOT NULL,
        disambiguation TEXT,
        distance REAL NOT NULL,
        tier TEXT NOT NULL,
        stash_ids TEXT NOT NULL,
        image_url TEXT,
        already_on_scene INTEGER NOT NULL,
        stash_performer_id TEXT,
        PRIMARY KEY (scene_id, person_id, rank),
        FOREIGN KEY (scene_id, person_id) REFERENCES persons (scene_id, person_id)
            ON DELETE CASCADE
    );
    CREATE TABLE decisions (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('apply', 'reject')),
        scene_id TEXT NOT NULL,
        person_id INTEGER,
        performer_id INTEGER,
        name TEXT,
        stash_ids TEXT NOT NULL,
        distance REAL,
        tier TEXT,
        embedder TEXT,
        vector BLOB,
        created_at REAL NOT NULL,
        undone_at REAL
    );
    CREATE INDEX decisions_scene ON decisions (scene_id);
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)
