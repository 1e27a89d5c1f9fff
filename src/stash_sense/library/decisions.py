"""The user's decisions on suggestions: apply or reject, kept with what they are about (the
performer by stash ids, the person's face cluster vector for a rejection), undone but never
deleted."""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass, field
from typing import Any

from stash_sense.library.database import StateDatabase
from stash_sense.library.identity import PerformerRef, PersonVector, Vector, from_blob, to_blob


@dataclass
class Decision:
    id: int
    kind: str
    scene_id: str
    person_id: int | None
    performer: PerformerRef
    distance: float | None
    tier: str | None
    embedder: str | None
    vector: Vector | None
    created_at: float
    undone_at: float | None
    distances: dict[str, float] = field(default_factory=dict)  # per embedder, when stored


class DecisionLog(StateDatabase):
    """The decisions table of the state database."""

    def decide(
        self,
        kind: str,
        scene_id: str,
        person_id: int | None,
        performer: PerformerRef,
        *,
        distance: float | None = None,
        tier: str | None = None,
        vector: PersonVector | None = None,
        distances: dict[str, float] | None = None,
    ) -> int:
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO decisions (kind, scene_id, person_id, performer_id, name, stash_ids,"
                " distance, tier, embedder, vector, created_at, distances)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (kind, scene_id, person_id, performer.performer_id, performer.name,
                 performer.stash_ids_json(), distance, tier,
                 vector.embedder if vector else None, to_blob(vector.vector) if vector else None,
                 time.time(), json.dumps(distances) if distances else None),
            )  # fmt: skip
            return int(cur.lastrowid or 0)

    def undo(self, decision_id: int | None = None) -> Decision | None:
        """Undo one decision (default: the latest one still in force); None when none is."""
        with self._tx() as db:
            if decision_id is None:
                row = db.execute(
                    "SELECT * FROM decisions WHERE undone_at IS NULL ORDER BY id DESC LIMIT 1"
                ).fetchone()
            else:
                row = db.execute(
                    "SELECT * FROM decisions WHERE id = ? AND undone_at IS NULL", (decision_id,)
                ).fetchone()
            if row is None:
                return None
            now = time.time()
            db.execute("UPDATE decisions SET undone_at = ? WHERE id = ?", (now, row["id"]))
        decision = _decision(row)
        decision.undone_at = now
        return decision

    def decisions(self, kind: str | None = None, *, active: bool = True) -> list[Decision]:
        sql = "SELECT * FROM decisions WHERE 1 = 1"
        args: list[Any] = []
        if kind is not None:
            sql += " AND kind = ?"
            args.append(kind)
        if active:
            sql += " AND undone_at IS NULL"
        return [_decision(r) for r in self._rows(sql + " ORDER BY id", tuple(args))]


def _decision(row: sqlite3.Row) -> Decision:
    return Decision(
        id=int(row["id"]),
        kind=str(row["kind"]),
        scene_id=str(row["scene_id"]),
        person_id=row["person_id"],
        performer=PerformerRef.from_row(row["performer_id"], row["name"], row["stash_ids"]),
        distance=row["distance"],
        tier=row["tier"],
        embedder=row["embedder"],
        vector=from_blob(row["vector"]),
        created_at=float(row["created_at"]),
        undone_at=row["undone_at"],
        distances=json.loads(row["distances"]) if row["distances"] else {},
    )
