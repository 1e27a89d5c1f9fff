"""The user's decisions in force, asked per candidate: is it rejected (for its scene, or for a
face cluster this person matches), is it applied already."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from stash_sense.library.decisions import Decision
from stash_sense.library.identity import PerformerRef, Vector, same_cluster

#: a person's embedder name and representative vector
Lent = tuple[str | None, Vector | None]


class Rules:
    """The decisions in force, asked per candidate; cluster rejections are indexed by the
    performer's keys, so a candidate is compared only with rejections of its own performer."""

    def __init__(self, decisions: list[Decision]) -> None:
        self.by_scene: dict[str, list[Decision]] = defaultdict(list)
        self.clusters: dict[tuple[str, ...], list[Decision]] = defaultdict(list)
        for d in decisions:
            self.by_scene[d.scene_id].append(d)
            if d.kind == "reject" and d.vector is not None:
                for key in performer_keys(d.performer):
                    self.clusters[key].append(d)

    def rejected(self, scene_id: str, performer: PerformerRef, person: Callable[[], Lent]) -> bool:
        """Whether a rejection rules the candidate out; `person()` gives the person's embedder
        and vector, asked only when a cluster rejection of this performer exists."""
        if any(d.kind == "reject" and d.performer.same_as(performer)
               for d in self.by_scene.get(scene_id, ())):  # fmt: skip
            return True
        clusters = [d for key in performer_keys(performer) for d in self.clusters.get(key, ())]
        if not clusters:
            return False
        embedder, vector = person()
        return any(d.embedder == embedder and same_cluster(vector, d.vector) for d in clusters)

    def applied(self, scene_id: str, performer: PerformerRef) -> bool:
        return any(d.kind == "apply" and d.performer.same_as(performer)
                   for d in self.by_scene.get(scene_id, ()))  # fmt: skip


def performer_keys(performer: PerformerRef) -> list[tuple[str, ...]]:
    """What a performer is known by: each stash id, or (no stash id) its id and name."""
    if performer.stash_ids:
        return [tuple(pair) for pair in performer.stash_ids]
    return [("db", str(performer.performer_id), performer.name)]
