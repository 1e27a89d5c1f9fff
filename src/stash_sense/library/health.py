"""Library health items and the user's decisions on them, in the state database.

"link", "merge" and "graph" items are written by a refresh (library/health_refresh.py,
library/health_graph.py), all at once;
"check this scene" items are computed from the scan's stored results each time. An item has a
stable id (`link:<stash performer>:<endpoint>|<stash id>`, `merge:<id>+<id>...`,
`check:<scene>:<digest of what it found>`); a decision (apply or dismiss) is kept by that id, so
a dismissed item never comes back, even after a refresh or a rescan, until it is undone.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from stash_sense.library.identity import PerformerRef, from_blob
from stash_sense.library.rules import Lent, Rules
from stash_sense.library.store import LibraryStore
from stash_sense.matching.tiers import at_least

KINDS = ("link", "merge", "check", "graph")  # graph: library/health_graph.py


@dataclass
class HealthDecision:
    id: int
    item_id: str
    kind: str  # apply, dismiss
    created_at: float
    undone_at: float | None


def replace_items(store: LibraryStore, items: list[dict[str, Any]]) -> None:
    """The refresh's link and merge items, in place of the previous refresh's."""
    now = time.time()
    with store.transaction() as db:
        db.execute("DELETE FROM health_items")
        db.executemany(
            "INSERT OR REPLACE INTO health_items VALUES (?, ?, ?, ?, ?)",
            [(i["id"], i["kind"], float(i["score"]), json.dumps(i), now) for i in items],
        )


def stored_items(store: LibraryStore, kind: str) -> list[dict[str, Any]]:
    rows = store.read(
        "SELECT body FROM health_items WHERE kind = ? ORDER BY score DESC, id", (kind,)
    )
    return [json.loads(r["body"]) for r in rows]


def decide(store: LibraryStore, item_id: str, kind: str) -> HealthDecision:
    with store.transaction() as db:
        cur = db.execute(
            "INSERT INTO health_decisions (item_id, kind, created_at) VALUES (?, ?, ?)",
            (item_id, kind, time.time()),
        )
        row = db.execute("SELECT * FROM health_decisions WHERE id = ?", (cur.lastrowid,))
        return HealthDecision(**dict(row.fetchone()))


def undo(store: LibraryStore, decision_id: int | None = None) -> HealthDecision | None:
    """Undo one decision (default: the latest still in force); None when none is."""
    with store.transaction() as db:
        sql = "SELECT * FROM health_decisions WHERE undone_at IS NULL"
        args: tuple[Any, ...] = ()
        if decision_id is not None:
            sql, args = sql + " AND id = ?", (decision_id,)
        row = db.execute(sql + " ORDER BY id DESC LIMIT 1", args).fetchone()
        if row is None:
            return None
        found = HealthDecision(**dict(row))
        found.undone_at = time.time()
        db.execute("UPDATE health_decisions SET undone_at = ? WHERE id = ?",
                   (found.undone_at, found.id))  # fmt: skip
    return found


def decided(store: LibraryStore) -> set[str]:
    """The item ids with a decision in force (applied or dismissed: not listed again)."""
    rows = store.read("SELECT item_id FROM health_decisions WHERE undone_at IS NULL")
    return {str(r["item_id"]) for r in rows}


def check_items(
    store: LibraryStore, known: Callable[[str, str], bool] | None = None
) -> list[dict[str, Any]]:
    """Scanned scenes where Stash's performers and the faces found disagree: performers tagged
    on the scene that no person found matches ("possible" or better), and persons whose first
    candidate is "high", not on the scene and not rejected. Only scenes Stash has performers on
    (recorded by scans since schema 2) are checked.

    A face is tied to a performer by stash id only, so a claim needs stash ids on both sides: a
    tagged performer counts as not seen only when the face database knows one of its stash ids
    (`known(endpoint, stash_id)`; without `known`, when it has any), and a face as not tagged
    only when its candidate has stash ids. A database without them yields no claim, not a
    wrong one (docs/library-bench.md)."""
    tagged: dict[str, list[dict[str, str]]] = defaultdict(list)
    claimable: set[tuple[str, str]] = set()
    for r in store.read("SELECT * FROM scene_performers ORDER BY scene_id, name"):
        tagged[r["scene_id"]].append({"id": r["stash_performer_id"], "name": r["name"]})
        ids = json.loads(r["stash_ids"])
        if any(known is None or known(s["endpoint"], s["stash_id"]) for s in ids):
            claimable.add((r["scene_id"], r["stash_performer_id"]))
    if not tagged:
        return []
    seen: dict[str, set[str]] = defaultdict(set)
    untagged: dict[str, list[dict[str, Any]]] = defaultdict(list)
    rules = Rules(store.decisions())
    rows = store.read(
        "SELECT c.*, p.frames FROM candidates c JOIN persons p ON p.scene_id = c.scene_id AND "
        "p.person_id = c.person_id WHERE c.scene_id IN (SELECT scene_id FROM scene_performers) "
        "ORDER BY c.scene_id, c.person_id, c.rank"
    )
    for c in rows:
        if c["stash_performer_id"] is not None and at_least(c["tier"], "possible"):
            seen[c["scene_id"]].add(str(c["stash_performer_id"]))
        if c["rank"] != 0 or c["tier"] != "high" or c["already_on_scene"]:
            continue
        if not json.loads(c["stash_ids"]):
            continue  # no stash id: it cannot be told apart from a tagged performer
        ref = PerformerRef.from_row(c["performer_id"], c["name"], c["stash_ids"])
        vector = partial(_vector, store, c["scene_id"], c["person_id"])
        if rules.rejected(c["scene_id"], ref, vector):
            continue
        untagged[c["scene_id"]].append({"person_id": int(c["person_id"]), "candidate": {
            "performer_id": int(c["performer_id"]), "name": c["name"],
            "disambiguation": c["disambiguation"], "distance": round(float(c["distance"]), 4),
            "tier": c["tier"], "stash_ids": json.loads(c["stash_ids"]),
            "image_url": c["image_url"], "stash_performer_id": None, "applied": False,
        }})  # fmt: skip
    scenes = {r["scene_id"]: r for r in store.read("SELECT scene_id, title FROM scenes")}
    items: list[dict[str, Any]] = []
    for scene_id, performers in tagged.items():
        missing = [
            p
            for p in performers
            if p["id"] not in seen[scene_id] and (scene_id, p["id"]) in claimable
        ]
        found = untagged.get(scene_id, [])
        if not missing and not found:
            continue
        what = [
            sorted(p["id"] for p in missing),
            sorted(u["candidate"]["stash_ids"] for u in found),
        ]
        digest = hashlib.sha1(json.dumps(what).encode()).hexdigest()[:12]
        evidence = [f"tagged in Stash, face not found: {p['name']}" for p in missing]
        evidence += [f"face found, not tagged: {u['candidate']['name']} "
                     f"({u['candidate']['tier']}, {u['candidate']['distance']:.3f})"
                     for u in found]  # fmt: skip
        items.append({
            "id": f"check:{scene_id}:{digest}", "kind": "check",
            "score": round(len(missing) + len(found), 3), "evidence": evidence,
            "scene_id": scene_id, "title": scenes[scene_id]["title"] if scene_id in scenes
            else None,
            "missing": missing, "untagged": found,
        })  # fmt: skip
    items.sort(key=lambda i: (-len(i["evidence"]), str(i["scene_id"])))
    return items


def _vector(store: LibraryStore, scene_id: str, person_id: int) -> Lent:
    person = store.person(scene_id, person_id)
    return (person["embedder"], from_blob(person["vector"])) if person else (None, None)
