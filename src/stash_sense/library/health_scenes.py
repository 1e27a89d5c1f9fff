"""Faces of local performers from the scan's stored results, as merge evidence: a scanned scene
on which Stash has exactly one performer and in which the scan found exactly one person, whose
first candidate is "high", gives that performer a face (the person's representative vector and
that candidate). Two local performers whose scene faces are close and name the same database
performer are one person, with those scenes as the evidence; never merged automatically.

A face no database performer claims at "high" is no evidence: a wrongly tagged scene gives its
performer a stranger's face, and the same video tagged with another performer elsewhere made
the two "0.000 apart" (the library benchmark's chosen scenes, 2026-12-03: 4 such pairs, none
right). Nor is a face that contradicts its performer (merge_items: other stash ids, or a
picture matching someone else).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from stash_sense.library.identity import from_blob
from stash_sense.library.store import LibraryStore


@dataclass(frozen=True)
class SceneFace:
    scene_id: str
    person_id: int
    embedder: str
    vector: np.ndarray
    match_id: int  # the database performer the face's first candidate is, at "high"
    match_stash_ids: frozenset[tuple[str, str]]


def tagged_faces(store: LibraryStore) -> dict[str, list[SceneFace]]:
    """Stash performer id -> its faces from one-performer, one-person scanned scenes."""
    rows = store.read(
        "SELECT sp.stash_performer_id AS pid, p.scene_id, p.person_id, p.embedder, p.vector, "
        "c.performer_id AS match_id, c.stash_ids AS match_stash_ids "
        "FROM scene_performers sp JOIN persons p ON p.scene_id = sp.scene_id "
        "JOIN candidates c ON c.scene_id = p.scene_id AND c.person_id = p.person_id "
        "AND c.rank = 0 AND c.tier = 'high' "
        "WHERE p.vector IS NOT NULL AND p.embedder IS NOT NULL AND sp.scene_id IN "
        "(SELECT scene_id FROM scene_performers GROUP BY scene_id HAVING count(*) = 1) "
        "AND sp.scene_id IN (SELECT scene_id FROM persons GROUP BY scene_id HAVING count(*) = 1)"
    )
    out: dict[str, list[SceneFace]] = {}
    for r in rows:
        vector = from_blob(r["vector"])
        if vector is None:
            continue
        unit = vector / max(float(np.linalg.norm(vector)), 1e-12)
        ids = frozenset((s["endpoint"], s["stash_id"]) for s in json.loads(r["match_stash_ids"]))
        face = SceneFace(str(r["scene_id"]), int(r["person_id"]), str(r["embedder"]), unit,
                         int(r["match_id"]), ids)  # fmt: skip
        out.setdefault(str(r["pid"]), []).append(face)
    return out


def close_pairs(
    owners: list[str], faces: dict[str, list[SceneFace]], high: float
) -> dict[tuple[int, int], tuple[float, str]]:
    """(i, j) of `owners` (local performer ids, i < j) whose scene faces of one embedder are
    within `high` of each other and name the same database performer -> (the closest distance,
    the evidence line)."""
    found: dict[tuple[int, int], tuple[float, str]] = {}
    embedders = {f.embedder for fs in faces.values() for f in fs}
    for embedder in sorted(embedders):
        listed = [(i, f) for i, pid in enumerate(owners) for f in faces.get(pid, [])
                  if f.embedder == embedder]  # fmt: skip
        if len(listed) < 2:
            continue
        dist = (
            1.0
            - np.stack([f.vector for _, f in listed]) @ np.stack([f.vector for _, f in listed]).T
        )
        for x, y in zip(*np.nonzero(np.triu(dist <= high, k=1)), strict=True):
            (a, fa), (b, fb) = listed[int(x)], listed[int(y)]
            if a == b or fa.match_id != fb.match_id:
                continue
            key, d = (min(a, b), max(a, b)), float(dist[x, y])
            if key not in found or d < found[key][0]:
                first, second = (fa, fb) if a < b else (fb, fa)
                found[key] = (d, f"scene {first.scene_id} person {first.person_id + 1} and scene "
                                 f"{second.scene_id} person {second.person_id + 1} are {d:.3f} "
                                 f"apart (high: {high:.2f} or closer)")  # fmt: skip
    return found


def consistent(
    faces: list[SceneFace], stash_ids: list[tuple[str, str]], image_match: int | None
) -> list[SceneFace]:
    """The faces that do not contradict their local performer: none whose database performer
    has stash ids and shares none of the performer's (when it has any), none whose database
    performer is not the one the performer's picture matches at "high" (when it does)."""
    own = set(stash_ids)
    return [
        f for f in faces
        if not (own and f.match_stash_ids and not own & f.match_stash_ids)
        and (image_match is None or image_match == f.match_id)
    ]  # fmt: skip
