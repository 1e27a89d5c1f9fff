"""Feedback: accepted and rejected matches, as the user judged them in Stash, kept in a small
SQLite file (the user's own, never touched by a database update).

The fields' bounds are `app.requests.FeedbackRequest`'s; the file is capped (SQLite's
max_page_count): a full cap or a full disk both surface as SQLITE_FULL, raised as StorageFull
(the sidecar answers 507). When the data folder cannot be written the sidecar still starts,
with feedback off (`open_feedback` gives a store that says why).
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

from stash_sense.app.requests import FeedbackRequest
from stash_sense.app.results import FeedbackRow


class FeedbackUnavailable(RuntimeError):
    """Feedback cannot be kept (the data folder is not writable); the message says why."""


class StorageFull(RuntimeError):
    """The disk, or the feedback file's size cap, is full."""


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

    def __init__(self, path: Path, max_bytes: int | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._conn = sqlite3.connect(str(path), check_same_thread=False)
        try:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute(SCHEMA)
            self._conn.commit()
            if max_bytes is not None:
                page = int(self._conn.execute("PRAGMA page_size").fetchone()[0])
                self._conn.execute(f"PRAGMA max_page_count = {max(2, max_bytes // page)}")
        except sqlite3.Error:
            self._conn.close()
            raise
        self._lock = threading.Lock()

    def add(self, given: FeedbackRequest) -> FeedbackRow:
        """Keep one verdict; StorageFull when the disk or the cap is full."""
        at = datetime.now(UTC).isoformat(timespec="seconds")
        values = (
            at,
            given.verdict,
            given.scene_id,
            given.person_id,
            given.performer_id,
            given.endpoint,
            given.stash_id,
        )
        with self._lock:
            try:
                cur = self._conn.execute(
                    "INSERT INTO feedback (at, verdict, scene_id, person_id, performer_id,"
                    " endpoint, stash_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    values,
                )
                self._conn.commit()
            except sqlite3.Error as err:
                self._conn.rollback()
                if getattr(err, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "full" in str(
                    err
                ):
                    raise StorageFull(f"feedback not saved: {err}") from None
                raise FeedbackUnavailable(f"feedback not saved: {err}") from None
            row_id = cur.lastrowid
        return FeedbackRow.model_validate(dict(zip(COLUMNS, (row_id, *values), strict=True)))

    def recent(self, limit: int = 1000) -> list[FeedbackRow]:
        """The latest `limit` verdicts, newest first."""
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {', '.join(COLUMNS)} FROM feedback ORDER BY id DESC LIMIT ?", (limit,)
            ).fetchall()
        return [FeedbackRow.model_validate(dict(zip(COLUMNS, row, strict=True))) for row in rows]

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class FeedbackOff:
    """Stands where the store would be when it cannot be opened: every call says why."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason

    def add(self, given: FeedbackRequest) -> FeedbackRow:
        raise FeedbackUnavailable(f"feedback is off: {self.reason}")

    def recent(self, limit: int = 1000) -> list[FeedbackRow]:
        raise FeedbackUnavailable(f"feedback is off: {self.reason}")

    def close(self) -> None:
        return None


def open_feedback(path: Path, max_bytes: int | None = None) -> FeedbackStore | FeedbackOff:
    """The feedback store, or FeedbackOff saying why it cannot be kept (read-only folder...)."""
    try:
        return FeedbackStore(path, max_bytes)
    except (OSError, sqlite3.Error) as err:
        return FeedbackOff(path, f"cannot write {path}: {err}")
