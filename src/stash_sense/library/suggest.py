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
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from stash_sense.library.identity import PerformerRef, Vector, from_blob, same_cluster
from stash_sense.library.store import Decision, LibraryStore
from stash_sense.matching.tiers import TIER_NAMES, at_least

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


#: a person's embedder name and representative vector
Lent = tuple[str | None, Vector | None]


def _given(lent: Lent) -> Lent:
    return lent


class Rules:
    """The decisions in force, asked per candidate; cluster rejections are indexed by the
    performer's keys, so a candidate is compared only with rejections of its own performer."""

    def __init__(self, decisions: list[Decision]) -> None:
        self.by_scene: dict[str, list[Decision]] = defaultdict(list)
        self.clusters: dict[tuple[str, ...], list[Decision]] = defaultdict(list)
        for d in decisions:
            self.by_scene[d.scene_id].append(d)
            if d.kind == "reject" and d.vector is not None:
                for key in _keys(d.performer):
                    self.clusters[key].append(d)

    def rejected(
        self,
        scene_id: str,
        performer: PerformerRef,
        person: Callable[[], tuple[str | None, Vector | None]],
    ) -> bool:
        """Whether a rejection rules the candidate out; `person()` gives the person's embedder
        and vector, asked only when a cluster rejection of this performer exists."""
        if any(d.kind == "reject" and d.performer.same_as(performer)
               for d in self.by_scene.get(scene_id, ())):  # fmt: skip
            return True
        clusters = [d for key in _keys(performer) for d in self.clusters.get(key, ())]
        if not clusters:
            return False
        embedder, vector = person()
        return any(d.embedder == embedder and same_cluster(vector, d.vector) for d in clusters)

    def applied(self, scene_id: str, performer: PerformerRef) -> bool:
        return any(d.kind == "apply" and d.performer.same_as(performer)
                   for d in self.by_scene.get(scene_id, ()))  # fmt: skip


def _keys(performer: PerformerRef) -> list[tuple[str, ...]]:
    """What a performer is known by: each stash id, or (no stash id) its id and name."""
    if performer.stash_ids:
        return [tuple(pair) for pair in performer.stash_ids]
    return [("db", str(performer.performer_id), performer.name)]


@dataclass
class _Seen:
    """One scene's summary from the first pass: anything to propose, anything pre-selected."""

    suggestion: bool = False
    preselected: bool = False


def suggestions(store: LibraryStore, wanted: SuggestionFilter | None = None) -> SuggestionPage:
    """One page of scenes with what to propose for each (see the module docstring).

    Unless every scanned scene is wanted, a first pass judges every candidate from its light
    columns (no face crop; a person's vector only where a cluster rejection of that performer
    exists); only the page's scenes are then built in full."""
    wanted = wanted or SuggestionFilter()
    rules = Rules(store.decisions())
    scenes = [s for s in store.scenes_with_persons() if _scene_wanted(s, wanted)]
    if wanted.has_suggestion is not None or wanted.preselected_only:
        seen = _first_pass(store, rules, wanted)
        scenes = [s for s in scenes if _has_wanted(seen.get(s["scene_id"], _Seen()), wanted)]
    window = scenes[wanted.offset : wanted.offset + wanted.limit]
    return SuggestionPage(len(scenes), wanted.offset, _build(store, rules, window, wanted))


def _first_pass(store: LibraryStore, rules: Rules, wanted: SuggestionFilter) -> dict[str, _Seen]:
    refs: dict[tuple[int, str, str], PerformerRef] = {}
    seen: dict[str, _Seen] = defaultdict(_Seen)
    tiers = [t for t in TIER_NAMES if at_least(t, wanted.lowest_tier)]
    for row in store.candidate_summaries(tiers):
        scene_id = row["scene_id"]
        found = seen[scene_id]
        if found.suggestion and (found.preselected or row["rank"] != 0):
            continue  # nothing this row could add
        key = (row["performer_id"], row["name"], row["stash_ids"])
        ref = refs.get(key)
        if ref is None:
            ref = refs[key] = PerformerRef.from_row(*key)
        if rules.applied(scene_id, ref) or rules.rejected(
            scene_id, ref, partial(_person_vector, store, scene_id, row["person_id"])
        ):
            continue
        found.suggestion = True
        if row["rank"] == 0 and row["tier"] == "high" and row["frames"] >= wanted.min_frames:
            found.preselected = True
    return seen


def _person_vector(
    store: LibraryStore, scene_id: str, person_id: int
) -> tuple[str | None, Vector | None]:
    person = store.person(scene_id, person_id)
    return (person["embedder"], from_blob(person["vector"])) if person else (None, None)


def _scene_wanted(scene: sqlite3.Row, wanted: SuggestionFilter) -> bool:
    if wanted.studio is not None and (scene["studio"] or "") != wanted.studio:
        return False
    date = scene["date"] or ""
    if wanted.date_from and (not date or date < wanted.date_from):
        return False
    return not (wanted.date_to and (not date or date > wanted.date_to))


def _has_wanted(seen: _Seen, wanted: SuggestionFilter) -> bool:
    if wanted.preselected_only:
        return seen.preselected
    return wanted.has_suggestion is None or seen.suggestion == wanted.has_suggestion


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
            lent: Lent = (person["embedder"], from_blob(person["vector"]))
            if c["already_on_scene"] or rules.rejected(scene_id, ref, partial(_given, lent)):
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
