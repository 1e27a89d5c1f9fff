"""Per-scene suggestion summaries, stored, so a page of the suggestions list is one SQL query.

A scene's summary is the best tier among the candidates still to propose (none: NULL) and the
most frames of a person whose first candidate is "high" and still to propose (pre-selection asks
for at least `min_frames`). It depends only on the scene's stored result and the decisions in
force; the state database's triggers (library/schema.py, migration 2) mark as due the scenes
whose summary a new result, a decision or an undo may change (a cluster rejection: every scene
with a candidate sharing a stash id of that performer), and `refresh` computes them again before
a page is read. The summary keeps the scene's studio and date, so a page's count and scene ids
come from one table. A face database update changes no stored result (a rescan of a scene does,
and marks it due), so it needs nothing here.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from functools import partial
from typing import Any

from stash_sense.library.identity import PerformerRef, from_blob
from stash_sense.library.rules import Lent, Rules
from stash_sense.library.store import LibraryStore
from stash_sense.matching.tiers import TIER_NAMES

#: Frames a "high" person must be seen in to be pre-selected (until the benchmark measures it).
PRESELECT_MIN_FRAMES = 3
#: scenes judged per query while refreshing (SQLite's bound on parameters is far above)
CHUNK = 500
RANK: dict[str, int] = {t: i for i, t in enumerate(TIER_NAMES)}


@dataclass
class SuggestionFilter:
    """Which scanned scenes a page of suggestions holds."""

    lowest_tier: str = "possible"
    studio: str | None = None
    date_from: str | None = None
    date_to: str | None = None
    has_suggestion: bool | None = True
    preselected_only: bool = False
    min_frames: int = PRESELECT_MIN_FRAMES
    offset: int = 0
    limit: int = 50


def refresh(store: LibraryStore) -> int:
    """Compute the summaries of the scenes marked due; the number computed. Runs in one
    transaction, so a result or decision written meanwhile waits and marks what it changes
    after, never before, the new summary is written."""
    with store.transaction() as db:
        due = [r[0] for r in db.execute("SELECT scene_id FROM summaries_due")]
        if not due:
            return 0
        rules = Rules(store.decisions())
        for start in range(0, len(due), CHUNK):
            chunk = due[start : start + CHUNK]
            marks = ",".join("?" * len(chunk))
            db.execute(f"DELETE FROM scene_summaries WHERE scene_id IN ({marks})", chunk)
            scenes = db.execute(
                f"SELECT scene_id, studio, date FROM scenes s WHERE scene_id IN ({marks}) AND "
                "status = 'done' AND EXISTS (SELECT 1 FROM persons p WHERE p.scene_id = "
                "s.scene_id)",
                chunk,
            ).fetchall()
            summaries = _judge(db, rules, [r["scene_id"] for r in scenes])
            db.executemany(
                "INSERT INTO scene_summaries VALUES (?, ?, ?, ?, ?)",
                [(r["scene_id"], r["studio"], r["date"], *summaries.get(r["scene_id"], (None, 0)))
                 for r in scenes],
            )  # fmt: skip
            db.execute(f"DELETE FROM summaries_due WHERE scene_id IN ({marks})", chunk)
    return len(due)


def _judge(
    db: sqlite3.Connection, rules: Rules, scene_ids: list[str]
) -> dict[str, tuple[int | None, int]]:
    """Per scene: (best tier rank still to propose, most frames of a pre-selectable person)."""
    marks = ",".join("?" * len(scene_ids))
    rows = db.execute(
        "SELECT c.scene_id, c.person_id, c.rank, c.performer_id, c.name, c.stash_ids, c.tier, "
        "p.frames FROM candidates c JOIN persons p ON p.scene_id = c.scene_id AND "
        f"p.person_id = c.person_id WHERE c.already_on_scene = 0 AND c.scene_id IN ({marks})",
        tuple(scene_ids),
    )
    refs: dict[tuple[Any, ...], PerformerRef] = {}
    out: dict[str, tuple[int | None, int]] = {}
    for row in rows:
        scene_id = row["scene_id"]
        best, frames = out.get(scene_id, (None, 0))
        rank = RANK.get(row["tier"], len(TIER_NAMES) - 1)
        first_high = row["rank"] == 0 and row["tier"] == "high"
        if best is not None and best <= rank and not (first_high and row["frames"] > frames):
            continue  # nothing this row could add
        key = (row["performer_id"], row["name"], row["stash_ids"])
        ref = refs.get(key) or refs.setdefault(key, PerformerRef.from_row(*key))
        vector = partial(_person_vector, db, scene_id, row["person_id"])
        if rules.applied(scene_id, ref) or rules.rejected(scene_id, ref, vector):
            continue
        best = rank if best is None else min(best, rank)
        out[scene_id] = (best, max(frames, int(row["frames"])) if first_high else frames)
    return out


def _person_vector(db: sqlite3.Connection, scene_id: str, person_id: int) -> Lent:
    row = db.execute(
        "SELECT embedder, vector FROM persons WHERE scene_id = ? AND person_id = ?",
        (scene_id, person_id),
    ).fetchone()
    return (row["embedder"], from_blob(row["vector"])) if row else (None, None)


def page(store: LibraryStore, wanted: SuggestionFilter) -> tuple[int, list[sqlite3.Row]]:
    """The number of scanned scenes `wanted` selects and the scene rows of its page (by scene
    id), from the stored summaries (refreshed first)."""
    refresh(store)
    where = ["1 = 1"]
    args: list[Any] = []
    if wanted.studio is not None:
        where.append("COALESCE(m.studio, '') = ?")
        args.append(wanted.studio)
    if wanted.date_from:
        where.append("COALESCE(m.date, '') != '' AND m.date >= ?")
        args.append(wanted.date_from)
    if wanted.date_to:
        where.append("COALESCE(m.date, '') != '' AND m.date <= ?")
        args.append(wanted.date_to)
    lowest = RANK[wanted.lowest_tier]
    if wanted.preselected_only:
        where.append("m.preselect_frames >= ?")
        args.append(wanted.min_frames)
    elif wanted.has_suggestion is True:
        where.append("m.best_tier IS NOT NULL AND m.best_tier <= ?")
        args.append(lowest)
    elif wanted.has_suggestion is False:
        where.append("(m.best_tier IS NULL OR m.best_tier > ?)")
        args.append(lowest)
    sql = f"FROM scene_summaries m WHERE {' AND '.join(where)}"
    with store.transaction() as db:  # one snapshot for the count and the page
        total = int(db.execute(f"SELECT COUNT(*) {sql}", tuple(args)).fetchone()[0])
        rows = list(db.execute(
            "SELECT s.* FROM scenes s JOIN (SELECT m.scene_id "
            f"{sql} ORDER BY m.scene_id LIMIT ? OFFSET ?) w ON w.scene_id = s.scene_id "
            "ORDER BY s.scene_id",
            (*args, wanted.limit, wanted.offset),
        ))  # fmt: skip
    return total, rows
