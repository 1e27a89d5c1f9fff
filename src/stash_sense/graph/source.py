"""The face database's performers as source records: one record per performer row, under its
primary source's endpoint and id; the row's ids on other endpoints and its merge records are ids
the source states; its faces' stored vectors come along for face evidence."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from stash_sense.database import FaceDatabase
from stash_sense.database.calibrated import is_calibrated
from stash_sense.graph.evidence import Rules
from stash_sense.graph.model import SourceRecord


def records_from_database(db: FaceDatabase) -> list[SourceRecord]:
    """Every live performer of an opened database as a source record, with its faces."""
    ids: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for pid, endpoint, stash_id in db.query(
        "SELECT performer_id, endpoint, stash_id FROM stash_ids ORDER BY rowid"
    ):
        ids[int(pid)].append((str(endpoint), str(stash_id)))
    merged = {
        (str(e), str(s)) for e, s in db.query("SELECT endpoint, stash_id FROM merged_stash_ids")
    }
    aliases = _grouped(db, "SELECT performer_id, alias FROM aliases ORDER BY alias")
    urls = _grouped(db, "SELECT performer_id, url FROM external_urls ORDER BY url")
    images = dict(db.query("SELECT performer_id, COUNT(*) FROM image_urls GROUP BY performer_id"))
    faces = _faces(db)
    out: list[SourceRecord] = []
    for pid, name, country, birthdate, primary in db.query(
        "SELECT id, name, country, birthdate, primary_source FROM performers "
        "WHERE deleted = 0 ORDER BY id"
    ):
        own = [pair for pair in ids.get(pid, []) if pair not in merged]
        home = [pair for pair in own if pair[0] == primary] or own
        endpoint, source_id = home[0] if home else (str(primary or "local"), f"db:{pid}")
        out.append(
            SourceRecord(
                endpoint=endpoint,
                source_id=source_id,
                name=str(name),
                aliases=aliases.get(pid, []),
                country=country,
                birthdate=birthdate,
                urls=urls.get(pid, []),
                image_count=int(images.get(pid, 0)),
                same_as=[p for p in own if p != (endpoint, source_id)],
                merged_ids=[p for p in ids.get(pid, []) if p in merged],
                faces=faces.get(pid, {}),
                performer_id=int(pid),
            )
        )
    return out


def rules_for(db: FaceDatabase, base: Rules | None = None) -> Rules:
    """The linking rules for this database: the measured face tiers for the default ensemble,
    the database's own plain fused-distance thresholds for any other."""
    base = base or Rules()
    if is_calibrated(list(db.manifest.models.values())):
        return base
    tiers = db.manifest.tiers
    try:
        found = (float(tiers["high"]), float(tiers["likely"]), float(tiers["possible"]))
    except (KeyError, TypeError, ValueError):
        return base
    return Rules(**{**base.__dict__, "tiers": found})


def _grouped(db: FaceDatabase, sql: str) -> dict[int, list[str]]:
    out: dict[int, list[str]] = defaultdict(list)
    for pid, value in db.query(sql):
        out[int(pid)].append(str(value))
    return out


def _faces(db: FaceDatabase) -> dict[int, dict[str, np.ndarray]]:
    """Each performer's face vectors per embedder, rows in face order (faces lacking a vector of
    some embedder are left out, so rows stay aligned across embedders)."""
    names = list(db.manifest.models)
    rows: dict[int, dict[int, dict[str, bytes]]] = defaultdict(lambda: defaultdict(dict))
    for pid, fid, embedder, blob in db.query(
        "SELECT f.performer_id, f.id, e.embedder, e.vector FROM faces f "
        "JOIN embeddings e ON e.face_id = f.id ORDER BY f.id"
    ):
        rows[int(pid)][int(fid)][str(embedder)] = blob
    out: dict[int, dict[str, np.ndarray]] = {}
    for pid, per_face in rows.items():
        complete = [v for v in per_face.values() if all(n in v for n in names)]
        if complete:
            out[pid] = {n: _stack([v[n] for v in complete]) for n in names}
    return out


def _stack(blobs: list[Any]) -> np.ndarray:
    return np.stack([np.frombuffer(b, dtype=np.float32) for b in blobs])
