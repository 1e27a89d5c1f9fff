"""The user-state database's schema and its migrations, numbered from 1 (SQLite `user_version`).

Each migration is one script run in one transaction; a database newer than this code is refused
rather than guessed at. Add a migration at the end; never edit one that has shipped.
"""

from __future__ import annotations

#: A decision (made or undone) marks as due the summary of its scene and, for a cluster rejection
#: (it has a vector), of every scene with a candidate sharing a stash id (or, without any, the
#: database id and name) of its performer.
_DECISION_MARKS_DUE = """        INSERT OR IGNORE INTO summaries_due SELECT scene_id FROM scenes
            WHERE scene_id = NEW.scene_id;
        INSERT OR IGNORE INTO summaries_due SELECT DISTINCT k.scene_id FROM candidate_keys k
            WHERE NEW.vector IS NOT NULL AND k.key IN (
                SELECT json_extract(j.value, '$.endpoint') || char(31) || json_extract(j.value,
                    '$.stash_id') FROM json_each(NEW.stash_ids) j
                UNION SELECT 'db' || char(31) || NEW.performer_id || char(31) || NEW.name
                    WHERE json_array_length(NEW.stash_ids) = 0);
"""

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
    # 2: per-scene suggestion summaries (the fast suggestions list), the stash ids of each scene's
    # candidates (which summaries a cluster rejection touches), library health items and their
    # decisions; each candidate's distance per embedder, kept with a decision for the report;
    # the performers Stash has on each scanned scene (the "check this scene" health kind).
    # Triggers keep the summaries right: a scene's new result, a decision or its undo marks the
    # scenes whose summary it may change as due (`summaries_due`); the next list computes them.
    """
    CREATE TABLE candidate_keys (
        key TEXT NOT NULL,
        scene_id TEXT NOT NULL REFERENCES scenes (scene_id) ON DELETE CASCADE
    );
    CREATE INDEX candidate_keys_key ON candidate_keys (key);
    CREATE INDEX candidate_keys_scene ON candidate_keys (scene_id);
    INSERT INTO candidate_keys (key, scene_id)
        SELECT json_extract(j.value, '$.endpoint') || char(31) || json_extract(j.value,
            '$.stash_id'), c.scene_id FROM candidates c, json_each(c.stash_ids) j;
    INSERT INTO candidate_keys (key, scene_id)
        SELECT 'db' || char(31) || c.performer_id || char(31) || c.name, c.scene_id
        FROM candidates c WHERE json_array_length(c.stash_ids) = 0;
    CREATE TABLE scene_summaries (
        scene_id TEXT PRIMARY KEY REFERENCES scenes (scene_id) ON DELETE CASCADE,
        studio TEXT,
        date TEXT,
        best_tier INTEGER,
        preselect_frames INTEGER NOT NULL
    );
    CREATE INDEX scene_summaries_tier ON scene_summaries (best_tier);
    CREATE INDEX scene_summaries_preselect ON scene_summaries (preselect_frames);
    CREATE TABLE summaries_due (
        scene_id TEXT PRIMARY KEY REFERENCES scenes (scene_id) ON DELETE CASCADE
    );
    INSERT OR IGNORE INTO summaries_due SELECT scene_id FROM persons;
    CREATE TRIGGER candidates_added AFTER INSERT ON candidates BEGIN
        INSERT INTO candidate_keys (key, scene_id)
            SELECT json_extract(j.value, '$.endpoint') || char(31) || json_extract(j.value,
                '$.stash_id'), NEW.scene_id FROM json_each(NEW.stash_ids) j;
        INSERT INTO candidate_keys (key, scene_id)
            SELECT 'db' || char(31) || NEW.performer_id || char(31) || NEW.name, NEW.scene_id
            WHERE json_array_length(NEW.stash_ids) = 0;
        INSERT OR IGNORE INTO summaries_due VALUES (NEW.scene_id);
    END;
    CREATE TRIGGER persons_added AFTER INSERT ON persons BEGIN
        INSERT OR IGNORE INTO summaries_due VALUES (NEW.scene_id);
    END;
    CREATE TRIGGER decision_made AFTER INSERT ON decisions BEGIN
"""
    + _DECISION_MARKS_DUE
    + """    END;
    CREATE TRIGGER decision_undone AFTER UPDATE OF undone_at ON decisions BEGIN
"""
    + _DECISION_MARKS_DUE
    + """    END;
    CREATE TABLE health_items (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('link', 'merge')),
        score REAL NOT NULL,
        body TEXT NOT NULL,
        refreshed_at REAL NOT NULL
    );
    CREATE INDEX health_items_kind ON health_items (kind, score);
    CREATE TABLE health_decisions (
        id INTEGER PRIMARY KEY,
        item_id TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('apply', 'dismiss')),
        created_at REAL NOT NULL,
        undone_at REAL
    );
    CREATE INDEX health_decisions_item ON health_decisions (item_id);
    CREATE TABLE candidate_distances (
        scene_id TEXT NOT NULL,
        person_id INTEGER NOT NULL,
        rank INTEGER NOT NULL,
        embedder TEXT NOT NULL,
        distance REAL NOT NULL,
        PRIMARY KEY (scene_id, person_id, rank, embedder),
        FOREIGN KEY (scene_id, person_id, rank) REFERENCES candidates (scene_id, person_id, rank)
            ON DELETE CASCADE
    );
    ALTER TABLE decisions ADD COLUMN distances TEXT;
    CREATE TABLE scene_performers (
        scene_id TEXT NOT NULL REFERENCES scenes (scene_id) ON DELETE CASCADE,
        stash_performer_id TEXT NOT NULL,
        name TEXT NOT NULL,
        PRIMARY KEY (scene_id, stash_performer_id)
    );
    """,
    # 3: the stash ids of the performers Stash has on a scene ("check this scene" claims a
    # tagged performer as not seen only when the face database knows one of them)
    """
    ALTER TABLE scene_performers ADD COLUMN stash_ids TEXT NOT NULL DEFAULT '[]';
    """,
    # 4: the health refresh's performers as last read (library/health_cache.py): a refresh
    # re-reads only those Stash changed since (updated_at), new ones, or another database's
    """
    CREATE TABLE health_performers (
        id TEXT PRIMARY KEY,
        updated_at TEXT NOT NULL,
        db_key TEXT NOT NULL,
        body TEXT NOT NULL,
        vector BLOB
    );
    """,
    # 5: health items of the kind "graph" (library/health_graph.py): the table is rebuilt, as
    # SQLite cannot change a CHECK; the items and their index are kept
    """
    CREATE TABLE health_items_5 (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('link', 'merge', 'graph')),
        score REAL NOT NULL,
        body TEXT NOT NULL,
        refreshed_at REAL NOT NULL
    );
    INSERT INTO health_items_5 SELECT id, kind, score, body, refreshed_at FROM health_items;
    DROP TABLE health_items;
    ALTER TABLE health_items_5 RENAME TO health_items;
    CREATE INDEX health_items_kind ON health_items (kind, score);
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)
