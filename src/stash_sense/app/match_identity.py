"""Matches carry their identity: each matched performer row looked up in the database's identity
graph (`graph.sqlite` beside its generations), so an answer names the person with every stash
id, URL, name and face count across endpoints, not only the row's own source."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

from stash_sense.app.results import FaceResult, IdentityRef, MatchResult, SceneResult, StashId
from stash_sense.graph import Explained, GraphError, graph_paths, identities_for_performers

log = logging.getLogger(__name__)
M = TypeVar("M", bound=MatchResult)
S = TypeVar("S", bound=SceneResult)


def graph_file_of(folder: Path) -> Path | None:
    """The graph file of a database opened at `folder` (a generation, or the root), if built."""
    for root in (folder.parent, folder):
        graph_file = graph_paths(root)[0]
        if graph_file.is_file():
            return graph_file
    return None


def identity_fields(found: Explained) -> dict[str, Any]:
    """The fields every answer about an identity carries (IdentityRef's)."""
    return {
        "id": found.id,
        "name": found.name,
        "stash_ids": [StashId(endpoint=ep, stash_id=sid) for ep, sid in found.stash_ids()],
        "urls": found.urls(),
        "names": found.names(),
        "faces": found.faces,
    }


def identity_ref(found: Explained) -> IdentityRef:
    return IdentityRef(**identity_fields(found))


def with_identities(matches: Sequence[M], folder: Path) -> list[M]:
    """`matches` with their identity filled in from the graph of the database at `folder`;
    unchanged when it has no graph or the graph cannot be read (logged: matching goes on)."""
    graph_file = graph_file_of(folder)
    if graph_file is None or not matches:
        return list(matches)
    try:
        found = identities_for_performers(graph_file, [m.performer_id for m in matches])
    except GraphError as err:
        log.warning("matches without identities: %s", err)
        return list(matches)
    refs = {pid: identity_ref(e) for pid, e in found.items()}
    return [
        m.model_copy(update={"identity": refs[m.performer_id]}) if m.performer_id in refs else m
        for m in matches
    ]


def faces_with_identities(faces: Sequence[FaceResult], folder: Path) -> list[FaceResult]:
    """Each face's matches with their identities (one graph read for all of them)."""
    flat = with_identities([m for f in faces for m in f.matches], folder)
    out, start = [], 0
    for face in faces:
        n = len(face.matches)
        out.append(face.model_copy(update={"matches": flat[start : start + n]}))
        start += n
    return out


def scene_with_identities(scene: S, folder: Path) -> S:
    """A scene result whose persons' matches carry their identities."""
    flat = with_identities([m for p in scene.persons for m in p.matches], folder)
    persons, start = [], 0
    for person in scene.persons:
        n = len(person.matches)
        persons.append(person.model_copy(update={"matches": flat[start : start + n]}))
        start += n
    return scene.model_copy(update={"persons": persons})
