"""What the health refresh learnt of each local performer, kept in the state database so the
next refresh re-reads only the performers Stash changed (its `updated_at`) and new ones.

A row holds one performer as the refresh saw it (name, image URL, stash ids, the image's first
match and its SFace vector), the performer's `updated_at` then, and the key of the face database
that identified it: rows of another database are read again (a database update changes the
matches), rows of performers Stash no longer lists are dropped.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

from stash_sense.library.identity import from_blob, to_blob
from stash_sense.library.store import LibraryStore
from stash_sense.matching.match import Match


def database_key(db: Any) -> str:
    """A short key of an open face database (its manifest: creation time, files, models)."""
    manifest = getattr(db, "manifest", None)
    if manifest is None:
        return ""
    text = json.dumps([manifest.created_at, manifest.files, sorted(manifest.models)], default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def known_stamps(store: LibraryStore, db_key: str) -> dict[str, str]:
    """performer id -> the `updated_at` its row was read at, for rows of this database."""
    rows = store.read("SELECT id, updated_at FROM health_performers WHERE db_key = ?", (db_key,))
    return {str(r["id"]): str(r["updated_at"]) for r in rows}


def all_ids(store: LibraryStore) -> set[str]:
    return {str(r["id"]) for r in store.read("SELECT id FROM health_performers")}


def put(store: LibraryStore, local: Any, updated_at: str, db_key: str) -> None:
    """Keep one performer as read now (replacing its row)."""
    body = {
        "name": local.name, "disambiguation": local.disambiguation,
        "image_url": local.image_url, "scene_count": local.scene_count,
        "stash_ids": [list(s) for s in local.stash_ids], "notes": local.notes,
        "match": dataclasses.asdict(local.match) if local.match is not None else None,
    }  # fmt: skip
    with store.transaction() as db:
        db.execute(
            "INSERT OR REPLACE INTO health_performers VALUES (?, ?, ?, ?, ?)",
            (local.id, updated_at, db_key, json.dumps(body), to_blob(local.vector)),
        )


def drop(store: LibraryStore, ids: set[str]) -> None:
    """Forget performers Stash no longer lists."""
    with store.transaction() as db:
        db.executemany("DELETE FROM health_performers WHERE id = ?", [(i,) for i in ids])


def performers(store: LibraryStore, local_type: type) -> list[Any]:
    """Every kept performer as a `local_type` (health_refresh.LocalPerformer), by id."""
    out = []
    for r in store.read("SELECT * FROM health_performers"):
        body = json.loads(r["body"])
        match = body.get("match")
        vector = from_blob(r["vector"])
        out.append(local_type(
            id=str(r["id"]), name=body["name"], disambiguation=body["disambiguation"],
            image_url=body["image_url"], scene_count=int(body["scene_count"]),
            stash_ids=[(str(e), str(s)) for e, s in body["stash_ids"]],
            vector=None if vector is None else vector.copy(),
            match=Match(**match) if match is not None else None, notes=list(body["notes"]),
        ))  # fmt: skip
    out.sort(key=lambda p: (0, int(p.id), p.id) if p.id.isdigit() else (1, 0, p.id))
    return out
