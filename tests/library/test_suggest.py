"""Suggestions from stored results: filters, paging, conservative pre-selection, rejections by
scene and by face cluster, applied ones never pre-selected."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from stash_sense.library import LibraryStore, PerformerRef, SuggestionFilter, suggestions
from stash_sense.library.store import LOGIC_VERSION, PersonVector

STASHDB = "https://stashdb.org/graphql"


def _unit(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=16).astype(np.float32)
    return v / np.linalg.norm(v)


def _performer(pid: int) -> PerformerRef:
    return PerformerRef(pid, f"P{pid}", ((STASHDB, f"s{pid}"),))


@pytest.fixture
def store(tmp_path: Path) -> LibraryStore:
    """Scenes 1-4: (studio, date, frames of person 0, candidates as (performer, tier))."""
    found = LibraryStore.in_folder(tmp_path)
    scenes = {
        "1": ("A", "2026-01-05", 5, [(10, "high"), (11, "likely")]),
        "2": ("A", "2026-02-05", 2, [(10, "high")]),  # seen in too few frames to pre-select
        "3": ("B", "2026-03-05", 6, [(12, "likely")]),  # not "high": never pre-selected
        "4": ("B", None, 6, [(13, "unlikely")]),
    }
    with sqlite3.connect(found.path) as db:
        for sid, (studio, date, frames, cands) in scenes.items():
            db.execute(
                "INSERT INTO scenes (scene_id, stash_updated_at, studio, date, status, "
                "scanned_at, logic_version) VALUES (?, 'x', ?, ?, 'done', 0, ?)",
                (sid, studio, date, LOGIC_VERSION),
            )
            vector = _unit(1 if sid in ("1", "2") else int(sid))  # 1 and 2: the same face
            db.execute(
                "INSERT INTO persons VALUES (?, 0, ?, '[1.0]', 'jpeg', 'sface', ?)",
                (sid, frames, vector.tobytes()),
            )
            for rank, (pid, tier) in enumerate(cands):
                ids = json.dumps([{"endpoint": STASHDB, "stash_id": f"s{pid}"}])
                db.execute(
                    "INSERT INTO candidates VALUES (?, 0, ?, ?, ?, NULL, 0.3, ?, ?, NULL, 0, NULL)",
                    (sid, rank, pid, f"P{pid}", tier, ids),
                )
    return found


def _ids(store: LibraryStore, **wanted: object) -> list[str]:
    page = suggestions(store, SuggestionFilter(**wanted))  # type: ignore[arg-type]
    return [s.scene_id for s in page.scenes]


def test_filters_and_paging(store: LibraryStore) -> None:
    assert _ids(store) == ["1", "2", "3"]  # "possible" or better, by default
    assert _ids(store, lowest_tier="unlikely") == ["1", "2", "3", "4"]
    assert _ids(store, studio="B") == ["3"]
    assert _ids(store, date_from="2026-02-01", date_to="2026-02-28") == ["2"]
    assert _ids(store, has_suggestion=False) == ["4"]
    page = suggestions(store, SuggestionFilter(offset=1, limit=1))
    assert page.total == 3 and [s.scene_id for s in page.scenes] == ["2"]


def test_preselection_is_high_first_candidate_seen_in_enough_frames(store: LibraryStore) -> None:
    assert _ids(store, preselected_only=True) == ["1"]
    assert _ids(store, preselected_only=True, min_frames=2) == ["1", "2"]
    [scene] = suggestions(store, SuggestionFilter(studio="A", limit=1)).scenes
    assert scene.persons[0].preselected == 10
    store.decide("apply", "1", 0, _performer(10))
    [scene] = suggestions(store, SuggestionFilter(studio="A", limit=1)).scenes
    assert scene.persons[0].preselected is None and scene.persons[0].candidates[0].applied


def test_rejections_by_scene_and_by_cluster(store: LibraryStore) -> None:
    store.decide("reject", "3", 0, _performer(12))  # by scene only (no vector)
    assert _ids(store) == ["1", "2"]
    cluster = PersonVector("sface", _unit(1))
    decision = store.decide("reject", "1", 0, _performer(10), vector=cluster)
    names = {s.scene_id: [c.name for c in s.persons[0].candidates]
             for s in suggestions(store, SuggestionFilter(has_suggestion=None)).scenes}  # fmt: skip
    assert names["1"] == ["P11"] and names["2"] == []  # scene 2 shows the same face
    assert _ids(store, preselected_only=True, min_frames=1) == []
    store.undo(decision)
    assert _ids(store, preselected_only=True) == ["1"]
