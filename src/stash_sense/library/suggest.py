"""What to propose from the scan's results: per scene, per person, the candidates that no
rejection rules out, and which one (if any) is pre-selected.

A candidate is left out when the user rejected that performer for that scene, or rejected it for
a face cluster that this person's representative vector matches (so a rescan, or another scene
of the same face, does not bring it back), or when Stash already has it on the scene.
Pre-selection is conservative: the person's first candidate only, tier "high", seen in at least
`min_frames` frames (a parameter; the safe value is for the library benchmark to measure).
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field

from stash_sense.library.identity import PerformerRef, from_blob, same_cluster
from stash_sense.library.store import Decision, LibraryStore
from stash_sense.matching.tiers import at_least

#: Frames a "high" person must be seen in to be pre-selected (until the benchmark measures it).
PRESELECT_MIN_FRAMES = 3


@dataclass
class SuggestionFilter:
    lowest_tier: str = "possible"
    studio: str | None = None
    date_from: str | None = None  # YYYY-MM-DD, the scene's date
    date_to: str | None = None
    has_suggestion: bool | None = True
    preselected_only: bool = False
    min_frames: int = PRESELECT_MIN_FRAMES
    offset: int = 0
    limit: int = 50


@dataclass
class Candidate:
    performer_id: int
    name: str
    disambiguation: str | None
    distance: float
    tier: str
    stash_ids: list[dict[str, str]]
    image_url: str | None
    stash_performer_id: str | None
    applied: bool = False


@dataclass
class PersonSuggestion:
    person_id: int
    frames: int
    times: list[float]
    face_jpeg: str | None
    candidates: list[Candidate]
    preselected: int | None = None  # the performer_id pre-selected


@dataclass
class SceneSuggestions:
    scene_id: str
    title: str | None
    date: str | None
    studio: str | None
    persons: list[PersonSuggestion] = field(default_factory=list)


@dataclass
class SuggestionPage:
    total: int
    offset: int
    scenes: list[SceneSuggestions]


class Rules:
    """The decisions in force, asked per candidate."""

    def __init__(self, decisions: list[Decision]) -> None:
        self.by_scene: dict[str, list[Decision]] = defaultdict(list)
        self.clusters: list[Decision] = []
        for d in decisions:
            self.by_scene[d.scene_id].append(d)
            if d.kind == "reject" and d.vector is not None:
                self.clusters.append(d)

    def rejected(self, scene_id: str, person: sqlite3.Row, performer: PerformerRef) -> bool:
        if any(d.kind == "reject" and d.performer.same_as(performer)
               for d in self.by_scene.get(scene_id, ())):  # fmt: skip
            return True
        vector = from_blob(person["vector"])
        return any(
            d.embedder == person["embedder"]
            and d.performer.same_as(performer)
            and same_cluster(vector, d.vector)
            for d in self.clusters
        )

    def applied(self, scene_id: str, performer: PerformerRef) -> bool:
        return any(d.kind == "apply" and d.performer.same_as(performer)
                   for d in self.by_scene.get(scene_id, ()))  # fmt: skip


def suggestions(store: LibraryStore, wanted: SuggestionFilter | None = None) -> SuggestionPage:
    """One page of scenes with what to propose for each (see the module docstring)."""
    wanted = wanted or SuggestionFilter()
    rules = Rules(store.decisions())
    scenes = [s for s in store.scenes_with_persons() if _scene_wanted(s, wanted)]
    kept: list[SceneSuggestions] = []
    for start in range(0, len(scenes), 500):
        chunk = scenes[start : start + 500]
        built = _build(store, rules, chunk, wanted)
        kept.extend(s for s in built if _has_wanted(s, wanted))
    window = kept[wanted.offset : wanted.offset + wanted.limit]
    return SuggestionPage(len(kept), wanted.offset, window)


def _scene_wanted(scene: sqlite3.Row, wanted: SuggestionFilter) -> bool:
    if wanted.studio is not None and (scene["studio"] or "") != wanted.studio:
        return False
    date = scene["date"] or ""
    if wanted.date_from and (not date or date < wanted.date_from):
        return False
    return not (wanted.date_to and (not date or date > wanted.date_to))


def _has_wanted(scene: SceneSuggestions, wanted: SuggestionFilter) -> bool:
    if wanted.preselected_only:
        return any(p.preselected is not None for p in scene.persons)
    if wanted.has_suggestion is None:
        return True
    has = any(c for p in scene.persons for c in p.candidates if not c.applied)
    return has == wanted.has_suggestion


def _build(
    store: LibraryStore, rules: Rules, scenes: list[sqlite3.Row], wanted: SuggestionFilter
) -> list[SceneSuggestions]:
    ids = [s["scene_id"] for s in scenes]
    persons: dict[tuple[str, int], sqlite3.Row] = {
        (p["scene_id"], p["person_id"]): p for p in store.persons(ids)
    }
    cands: dict[tuple[str, int], list[sqlite3.Row]] = defaultdict(list)
    for c in store.candidates(ids):
        cands[(c["scene_id"], c["person_id"])].append(c)
    out = {s["scene_id"]: SceneSuggestions(s["scene_id"], s["title"], s["date"], s["studio"])
           for s in scenes}  # fmt: skip
    for key, person in persons.items():
        scene_id = key[0]
        shown: list[Candidate] = []
        preselected = None
        for c in cands.get(key, []):
            ref = PerformerRef.from_row(c["performer_id"], c["name"], c["stash_ids"])
            if c["already_on_scene"] or rules.rejected(scene_id, person, ref):
                continue
            if not at_least(c["tier"], wanted.lowest_tier):
                continue
            cand = Candidate(
                int(c["performer_id"]), c["name"], c["disambiguation"], float(c["distance"]),
                c["tier"], json.loads(c["stash_ids"]), c["image_url"], c["stash_performer_id"],
                rules.applied(scene_id, ref),
            )  # fmt: skip
            if (c["rank"] == 0 and c["tier"] == "high" and not cand.applied
                    and person["frames"] >= wanted.min_frames):  # fmt: skip
                preselected = cand.performer_id
            shown.append(cand)
        out[scene_id].persons.append(
            PersonSuggestion(
                int(person["person_id"]), int(person["frames"]), json.loads(person["times"]),
                person["face_jpeg"], shown, preselected,
            )
        )  # fmt: skip
    return list(out.values())
