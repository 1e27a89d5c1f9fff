"""Accepted and rejected matches, as the user judged them in Stash, kept in a small SQLite file.

Text fields are bounded (MAX_TEXT) and the file is capped (SQLite's max_page_count): a full cap
or a full disk both surface as SQLITE_FULL, answered 507. When the data folder cannot be written
the sidecar still starts, with feedback off (`open_feedback` gives a store that says why).
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

VERDICTS = ("accepted", "rejected")
#: Longest text field kept (scene ids, endpoints, stash ids are far shorter).
MAX_TEXT = 256
#: Integer fields are SQLite INTEGERs (signed 64-bit).
MAX_INT = 2**63 - 1


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

    @staticmethod
    def _check(verdict: str, texts: dict[str, str | None], numbers: dict[str, int | None]) -> None:
        if verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}, got {verdict[:40]!r}")
        for name, text in texts.items():
            if text is not None and len(text) > MAX_TEXT:
                raise ValueError(f"{name} is longer than {MAX_TEXT} characters")
        for name, number in numbers.items():
            if number is not None and not -MAX_INT <= number <= MAX_INT:
                raise ValueError(f"{name} is out of range")

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
        self._check(
            verdict,
            {"scene_id": scene_id, "endpoint": endpoint, "stash_id": stash_id},
            {"person_id": person_id, "performer_id": performer_id},
        )
        at = datetime.now(UTC).isoformat(timespec="seconds")
        values = (at, verdict, scene_id, person_id, performer_id, endpoint, stash_id)
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


class FeedbackOff:
    """Stands where the store would be when it cannot be opened: every call says why."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason

    def add(self, verdict: str, **_: Any) -> dict[str, Any]:
        raise FeedbackUnavailable(f"feedback is off: {self.reason}")

    def recent(self, limit: int = 1000) -> list[dict[str, Any]]:
        raise FeedbackUnavailable(f"feedback is off: {self.reason}")

    def close(self) -> None:
        return None


def open_feedback(path: Path, max_bytes: int | None = None) -> FeedbackStore | FeedbackOff:
    """The feedback store, or FeedbackOff saying why it cannot be kept (read-only folder...)."""
    try:
        return FeedbackStore(path, max_bytes)
    except (OSError, sqlite3.Error) as err:
        return FeedbackOff(path, f"cannot write {path}: {err}")
