"""The user-state database: scans, what each scene showed, and the user's decisions.

One SQLite file in the data folder (`library.sqlite`), apart from the face database: a database
update or rollback never opens it. Every scene's result is written in one transaction together
with its scan's progress, so a process killed at any moment leaves either the whole scene or none
of it. Thread-safe: the background scan writes while requests read (one connection, one lock).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from stash_sense.library.database import FILENAME, StateDatabase, StateError
from stash_sense.library.decisions import Decision, DecisionLog
from stash_sense.library.identity import PersonVector, to_blob
from stash_sense.scenes.identify import SceneResult
from stash_sense.sources.stash import SceneRef

__all__ = ["FILENAME", "LOGIC_VERSION", "Decision", "LibraryStore", "PersonVector", "Scan",
           "StateDatabase", "StateError"]  # fmt: skip

#: Raised when the way a scene is identified changes, so older results count as not done.
LOGIC_VERSION = 1


@dataclass
class Scan:
    """One scan's progress, as stored."""

    id: int
    scope: str
    since: str | None
    status: str  # running, paused, done, stopped (an error; `reason` says which)
    reason: str | None
    started_at: float
    updated_at: float
    finished_at: float | None
    total: int
    done: int
    failed: int
    watermark: str | None


class LibraryStore(DecisionLog):
    """The state database: scans, scene results (`DecisionLog`: the user's decisions)."""

    # scans ----------------------------------------------------------------
    def new_scan(self, scope: str, since: str | None, total: int) -> Scan:
        now = time.time()
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO scans (scope, since, status, started_at, updated_at, total) "
                "VALUES (?, ?, 'running', ?, ?, ?)",
                (scope, since, now, now, total),
            )
            scan_id = int(cur.lastrowid or 0)
        found = self.scan(scan_id)
        assert found is not None
        return found

    def scan(self, scan_id: int) -> Scan | None:
        rows = self._rows("SELECT * FROM scans WHERE id = ?", (scan_id,))
        return Scan(**dict(rows[0])) if rows else None

    def latest_scan(self) -> Scan | None:
        rows = self._rows("SELECT * FROM scans ORDER BY id DESC LIMIT 1")
        return Scan(**dict(rows[0])) if rows else None

    def set_scan(self, scan_id: int, **values: Any) -> None:
        allowed = {"status", "reason", "total", "finished_at", "watermark"}
        if not set(values) <= allowed:
            raise ValueError(f"unknown scan fields {set(values) - allowed}")
        sets = ", ".join(f"{k} = ?" for k in values)
        with self._tx() as db:
            db.execute(
                f"UPDATE scans SET {sets}, updated_at = ? WHERE id = ?",
                (*values.values(), time.time(), scan_id),
            )

    # scenes ---------------------------------------------------------------
    def scene_state(self, scene_id: str) -> sqlite3.Row | None:
        rows = self._rows("SELECT * FROM scenes WHERE scene_id = ?", (scene_id,))
        return rows[0] if rows else None

    def record_result(
        self,
        scan_id: int,
        ref: SceneRef,
        result: SceneResult,
        owners: list[list[str | None]],
        vectors: list[PersonVector | None],
        elapsed_s: float,
        tagged: Sequence[tuple[str, str, list[dict[str, str]]]] = (),
    ) -> None:
        """The scene's persons and candidates (`owners`: per person, per match, the Stash
        performer of the scene that is that match; `tagged`: (id, name, stash ids) of the
        performers Stash has on the scene), in place of any earlier result, and the scan's
        progress, in one transaction."""
        now = time.time()
        with self._tx() as db:
            counted = self._replace_scene(db, scan_id, ref)
            db.execute(
                "INSERT INTO scenes (scene_id, stash_updated_at, title, date, studio, status, "
                "attempts, scan_id, scanned_at, source, elapsed_s, logic_version) "
                "VALUES (?, ?, ?, ?, ?, 'done', 0, ?, ?, ?, ?, ?)",
                (ref.id, ref.updated_at, ref.title, ref.date, ref.studio, scan_id, now,
                 result.source, elapsed_s, LOGIC_VERSION),
            )  # fmt: skip
            for person, vec, owned in zip(result.persons, vectors, owners, strict=True):
                db.execute(
                    "INSERT INTO persons (scene_id, person_id, frames, times, face_jpeg, "
                    "embedder, vector) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (ref.id, person.person_id, len(person.frame_indices),
                     json.dumps(person.times), person.face_jpeg,
                     vec.embedder if vec else None, to_blob(vec.vector) if vec else None),
                )  # fmt: skip
                for rank, (match, owner) in enumerate(zip(person.matches, owned, strict=True)):
                    db.execute(
                        "INSERT INTO candidates VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (ref.id, person.person_id, rank, match.performer_id, match.name,
                         match.disambiguation, float(match.distance), match.tier,
                         json.dumps(match.stash_ids), match.image_url,
                         int(owner is not None), owner),
                    )  # fmt: skip
                    db.executemany(
                        "INSERT INTO candidate_distances VALUES (?, ?, ?, ?, ?)",
                        [(ref.id, person.person_id, rank, name, float(d))
                         for name, d in sorted(match.distances.items())],
                    )  # fmt: skip
            db.executemany(
                "INSERT OR IGNORE INTO scene_performers (scene_id, stash_performer_id, name, "
                "stash_ids) VALUES (?, ?, ?, ?)",
                [(ref.id, pid, name, json.dumps(ids)) for pid, name, ids in tagged],
            )
            self._progress(db, scan_id, ref, counted, failed=False)

    def record_failure(self, scan_id: int, ref: SceneRef, reason: str) -> None:
        """The scene could not be identified: keep why (one line), to try again later."""
        now = time.time()
        with self._tx() as db:
            old = db.execute("SELECT attempts FROM scenes WHERE scene_id = ?", (ref.id,)).fetchone()
            attempts = (int(old["attempts"]) if old else 0) + 1
            counted = self._replace_scene(db, scan_id, ref)
            db.execute(
                "INSERT INTO scenes (scene_id, stash_updated_at, title, date, studio, status, "
                "reason, attempts, scan_id, scanned_at, logic_version) "
                "VALUES (?, ?, ?, ?, ?, 'failed', ?, ?, ?, ?, ?)",
                (ref.id, ref.updated_at, ref.title, ref.date, ref.studio, reason[:500],
                 attempts, scan_id, now, LOGIC_VERSION),
            )  # fmt: skip
            self._progress(db, scan_id, ref, counted, failed=True)

    def _progress(
        self, db: sqlite3.Connection, scan_id: int, ref: SceneRef, counted: bool, *, failed: bool
    ) -> None:
        """The scan's watermark moves to the scene; its counts grow unless it was counted."""
        db.execute(
            "UPDATE scans SET watermark = ?, done = done + ?, failed = failed + ?, "
            "updated_at = ? WHERE id = ?",
            (ref.updated_at, int(counted), int(counted and failed), time.time(), scan_id),
        )

    def _replace_scene(self, db: sqlite3.Connection, scan_id: int, ref: SceneRef) -> bool:
        """Delete the scene's old result; True when this scan had not counted it yet."""
        old = db.execute("SELECT scan_id FROM scenes WHERE scene_id = ?", (ref.id,)).fetchone()
        db.execute("DELETE FROM scenes WHERE scene_id = ?", (ref.id,))
        return old is None or old["scan_id"] != scan_id

    def already_handled(self, scan_id: int, ref: SceneRef) -> bool:
        """True when the scene needs no scan now: done at this edit of it (by an earlier scan:
        then it counts as done for this one too), or already tried by this scan (a failure is
        tried again by the next scan)."""
        with self._tx() as db:
            row = db.execute("SELECT * FROM scenes WHERE scene_id = ?", (ref.id,)).fetchone()
            if row is None or row["stash_updated_at"] != ref.updated_at:
                return False
            if row["scan_id"] == scan_id:
                return row["status"] == "failed" or row["logic_version"] == LOGIC_VERSION
            if row["status"] != "done" or row["logic_version"] != LOGIC_VERSION:
                return False
            db.execute("UPDATE scenes SET scan_id = ? WHERE scene_id = ?", (scan_id, ref.id))
            db.execute("UPDATE scans SET done = done + 1, updated_at = ? WHERE id = ?",
                       (time.time(), scan_id))  # fmt: skip
            return True

    def failures(self, limit: int = 100) -> list[dict[str, Any]]:
        rows = self._rows(
            "SELECT scene_id, reason, attempts, scanned_at FROM scenes WHERE status = 'failed' "
            "ORDER BY scanned_at DESC LIMIT ?",
            (limit,),
        )
        return [dict(r) for r in rows]

    def scenes_with_persons(self) -> list[sqlite3.Row]:
        return self._rows(
            "SELECT * FROM scenes WHERE status = 'done' AND EXISTS "
            "(SELECT 1 FROM persons p WHERE p.scene_id = scenes.scene_id) ORDER BY scene_id"
        )

    def persons(self, scene_ids: list[str]) -> list[sqlite3.Row]:
        marks = ",".join("?" * len(scene_ids))
        return self._rows(
            f"SELECT * FROM persons WHERE scene_id IN ({marks}) ORDER BY scene_id, person_id",
            tuple(scene_ids),
        )

    def candidates(self, scene_ids: list[str]) -> list[sqlite3.Row]:
        marks = ",".join("?" * len(scene_ids))
        return self._rows(
            f"SELECT * FROM candidates WHERE scene_id IN ({marks}) "
            "ORDER BY scene_id, person_id, rank",
            tuple(scene_ids),
        )

    def person(self, scene_id: str, person_id: int) -> sqlite3.Row | None:
        rows = self._rows(
            "SELECT * FROM persons WHERE scene_id = ? AND person_id = ?", (scene_id, person_id)
        )
        return rows[0] if rows else None

    def candidate_distances(self, scene_id: str, person_id: int, rank: int) -> dict[str, float]:
        """The candidate's distance per embedder (empty for results stored before they were)."""
        rows = self._rows(
            "SELECT embedder, distance FROM candidate_distances WHERE scene_id = ? AND "
            "person_id = ? AND rank = ? ORDER BY embedder",
            (scene_id, person_id, rank),
        )
        return {str(r["embedder"]): float(r["distance"]) for r in rows}

    def candidate(self, scene_id: str, person_id: int, performer_id: int) -> sqlite3.Row | None:
        rows = self._rows(
            "SELECT * FROM candidates WHERE scene_id = ? AND person_id = ? AND performer_id = ?",
            (scene_id, person_id, performer_id),
        )
        return rows[0] if rows else None
