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
from functools import partial

from stash_sense.library.identity import PerformerRef, from_blob
from stash_sense.library.rules import Lent, Rules
from stash_sense.library.store import LibraryStore
from stash_sense.library.summary import PRESELECT_MIN_FRAMES, SuggestionFilter, page
from stash_sense.matching.tiers import at_least

__all__ = ["PRESELECT_MIN_FRAMES", "Candidate", "PersonSuggestion", "SceneSuggestions",
           "SuggestionFilter", "SuggestionPage", "suggestions"]  # fmt: skip


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


def suggestions(store: LibraryStore, wanted: SuggestionFilter | None = None) -> SuggestionPage:
    """One page of scenes with what to propose for each (see the module docstring). Which
    scenes are on it comes from the stored per-scene summaries (library/summary.py); only the
    page's scenes are built in full."""
    wanted = wanted or SuggestionFilter()
    total, window = page(store, wanted)
    rules = Rules(store.decisions())
    return SuggestionPage(total, wanted.offset, _build(store, rules, window, wanted))


def _given(lent: Lent) -> Lent:
    return lent


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
