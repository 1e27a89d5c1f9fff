"""Who is in a scene: faces of every frame, clustered by person, each person matched as a whole.

`identify_scene(frames, engine, matcher)` returns a `SceneResult` (app.results turns it into the
"Scene result" of docs/architecture.md). Every face is embedded by the `cluster_on` embedders
only (default: the first of the database, SFace) and clustered on their fused distance; each
person is then matched with `Matcher.match_faces` on up to `representatives` of their best
faces, refined and embedded by every embedder, so several faces of one person outweigh a single
lucky one and the slow embedders run on a handful of faces per person instead of every face.

Two clusters whose best matches are the same performer, each at least "likely", and that never
share a frame are one person seen twice (a change of light or angle split them): they are merged
and matched again. Performers are then assigned to persons exclusively (scenes/assign.py). Tiers
come from the same rule as for a single image (matching/tiers.py); nothing here changes them.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from stash_sense.faces import FaceEngine
from stash_sense.matching import Match, Matcher
from stash_sense.matching.tiers import at_least
from stash_sense.scenes.assign import exclusive
from stash_sense.scenes.cluster import DEFAULT_THRESHOLD, cluster, fused_distances
from stash_sense.scenes.faces import (
    SceneCancelled,
    SceneFace,
    detect_scene_faces,
    original,
    prepare_for_matching,
)
from stash_sense.scenes.frames import Frame

#: Faces per person handed to the matcher (the best ones by quality).
DEFAULT_REPRESENTATIVES = 5
#: Candidates per person the exclusive assignment chooses from.
CANDIDATES = 5
#: A merge needs both clusters' best match at this tier or better.
MERGE_TIER = "likely"


@dataclass
class Person:
    """One person of the scene: their faces across frames and the performers they may be."""

    person_id: int
    faces: list[SceneFace]
    matches: list[Match]
    face_jpeg: str

    @property
    def frame_indices(self) -> list[int]:
        return sorted({f.frame.index for f in self.faces})

    @property
    def times(self) -> list[float]:
        return sorted({f.frame.time_s for f in self.faces})


@dataclass
class SceneResult:
    scene_id: str | None
    source: str
    frames_sampled: int
    faces_detected: int
    elapsed_s: float
    persons: list[Person]


def _crop_b64(person_faces: Sequence[SceneFace]) -> str:
    best = max(person_faces, key=lambda f: f.rank)
    return base64.b64encode(FaceEngine.crop_jpeg(best.image, best.face, size=160)).decode()


def _rank(
    engine: FaceEngine,
    matcher: Matcher,
    groups: Sequence[Sequence[SceneFace]],
    embedders: Sequence[str],
    representatives: int,
) -> list[list[Match]]:
    """Each person's ranking from its best faces, refined and embedded by every embedder (all
    persons' faces in one batch: the slow embedders run on a handful of faces per person)."""
    chosen = [sorted(g, key=lambda f: f.rank, reverse=True)[:representatives] for g in groups]
    # a representative that repeats an earlier frame's picture takes that picture's vectors
    pictures = {id(o): o for reps in chosen for o in map(original, reps)}
    prepare_for_matching(engine, list(pictures.values()), embedders)
    for reps in chosen:
        for r in reps:
            if r.crops_from is not None:
                r.aligned.face.embeddings = dict(original(r).face.embeddings)
    return [matcher.match_faces([r.face for r in reps], top=CANDIDATES) for reps in chosen]


def same_person(frames: Sequence[set[int]], rankings: Sequence[Sequence[Match]]) -> list[list[int]]:
    """Which clusters are one person: groups of cluster indices (first = the one kept) whose best
    matches are the same performer at MERGE_TIER or better and that never share a frame."""
    by_performer: dict[int, list[int]] = {}
    for i, ranking in enumerate(rankings):
        if ranking and at_least(ranking[0].tier, MERGE_TIER):
            by_performer.setdefault(ranking[0].performer_id, []).append(i)
    groups: list[list[int]] = []
    taken: set[int] = set()
    for i in range(len(rankings)):
        if i in taken:
            continue
        group, seen = [i], set(frames[i])
        taken.add(i)
        if rankings[i] and at_least(rankings[i][0].tier, MERGE_TIER):
            for other in by_performer[rankings[i][0].performer_id]:
                if other not in taken and not seen & frames[other]:
                    group.append(other)
                    seen |= frames[other]
                    taken.add(other)
        groups.append(group)
    return groups


def _merge_same_person(
    engine: FaceEngine,
    matcher: Matcher,
    members: list[list[SceneFace]],
    rankings: list[list[Match]],
    embedders: Sequence[str],
    representatives: int,
) -> tuple[list[list[SceneFace]], list[list[Match]]]:
    """Merge clusters that the matches say are one person and rank the merged ones again."""
    frames = [{f.frame.index for f in m} for m in members]
    groups = same_person(frames, rankings)
    merged = [[face for i in g for face in members[i]] for g in groups]
    grown = [k for k, g in enumerate(groups) if len(g) > 1]
    again = _rank(engine, matcher, [merged[k] for k in grown], embedders, representatives)
    ranked = [rankings[g[0]] for g in groups]
    for k, ranking in zip(grown, again, strict=True):
        ranked[k] = ranking
    return merged, ranked


def identify_scene(
    frames: Sequence[Frame],
    engine: FaceEngine,
    matcher: Matcher,
    *,
    source: str,
    scene_id: str | None = None,
    top: int = 5,
    threshold: float = DEFAULT_THRESHOLD,
    cluster_on: Sequence[str] | None = None,
    representatives: int = DEFAULT_REPRESENTATIVES,
    should_stop: Callable[[], bool] | None = None,
) -> SceneResult:
    """Detect, cluster and match every person in `frames` (see the module docstring)."""
    started = time.perf_counter()
    names = list(matcher.embedder_names)
    cluster_names = [n for n in (cluster_on or names[:1]) if n in names] or names[:1]
    faces = detect_scene_faces(engine, frames, cluster_names, should_stop=should_stop)
    persons: list[Person] = []
    if faces:
        vectors = {n: np.stack([f.face.embeddings[n] for f in faces]) for n in cluster_names}
        dist = fused_distances(vectors, matcher.weights)
        labels = cluster(dist, [f.frame.index for f in faces], threshold)
        groups: dict[int, list[SceneFace]] = {}
        for face, label in zip(faces, labels, strict=True):
            groups.setdefault(label, []).append(face)
        if should_stop is not None and should_stop():
            raise SceneCancelled("stopped")
        embedders = [n for n in names if n in engine.embedder_names]
        members = list(groups.values())
        rankings = _rank(engine, matcher, members, embedders, representatives)
        members, rankings = _merge_same_person(engine, matcher, members, rankings, embedders,
                                               representatives)  # fmt: skip
        for group, matches in zip(members, exclusive(rankings, top), strict=True):
            persons.append(Person(0, group, matches, _crop_b64(group)))
    persons.sort(key=lambda p: (-len(p.frame_indices), p.matches[0].distance if p.matches else 9))
    for i, p in enumerate(persons):
        p.person_id = i
    return SceneResult(
        scene_id=scene_id,
        source=source,
        frames_sampled=len(frames),
        faces_detected=len(faces),
        elapsed_s=time.perf_counter() - started,
        persons=persons,
    )
