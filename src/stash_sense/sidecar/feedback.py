"""Accepted and rejected matches, as the user judged them in Stash, kept in a small SQLite file."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

VERDICTS = ("accepted", "rejected")

SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ('accepted', 'rejected')),
    scene_id TEXT,
    person_id INTEGER,
    performer_id INTEGER,
    endpoint TEXT,
    stash_id TEXT
)
"""
COLUMNS = ("id", "at", "verdict", "scene_id", "person_id", "performer_id", "endpoint", "stash_id")


class FeedbackStore:
    """Append and list feedback rows; one connection shared under a lock."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._conn = sqlite3.connect(str(path), check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(SCHEMA)
        self._conn.commit()
        self._lock = threading.Lock()

    def add(
        self,
        verdict: str,
        *,
        scene_id: str | None,
        person_id: int | None,
        performer_id: int | None,
        endpoint: str | None,
        stash_id: str | None,
    ) -> dict[str, Any]:
        if verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}, got {verdict!r}")
        at = datetime.now(UTC).isoformat(timespec="seconds")
        values = (at, verdict, scene_id, person_id, performer_id, endpoint, stash_id)
        with self._lock:
            cur = self._conn.execute(
                "INSERT INTO feedback (at, verdict, scene_id, person_id, performer_id, endpoint,"
                " stash_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
                values,
            )
            self._conn.commit()
            row_id = cur.lastrowid
        return dict(zip(COLUMNS, (row_id, *values), strict=True))

    def recent(self, limit: int = 1000) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {', '.join(COLUMNS)} FROM feedback ORDER BY id DESC LIMIT ?", (limit,)
            ).fetchall()
        return [dict(zip(COLUMNS, row, strict=True)) for row in rows]

    def close(self) -> None:
        with self._lock:
            self._conn.close()
