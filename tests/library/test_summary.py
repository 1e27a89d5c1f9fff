"""The stored per-scene suggestion summaries: a page from them equals judging every candidate,
and a decision, an undo, a cluster rejection elsewhere, a rescan and a migrated older file all
keep them right."""

from __future__ import annotations

import itertools
import json
import sqlite3
from pathlib import Path

import pytest

from stash_sense.library import LibraryStore, PerformerRef, SuggestionFilter, suggestions
from stash_sense.library.identity import from_blob
from stash_sense.library.schema import MIGRATIONS
from stash_sense.library.store import LOGIC_VERSION, PersonVector
from stash_sense.library.suggest import SceneSuggestions
from stash_sense.library.summary import refresh
from stash_sense.matching.tiers import at_least
from stash_sense.sources.stash import SceneRef
from stash_sense_devkit.library_fill import FillSpec, fill, stash_ids
from stash_sense_devkit.library_fill import main as fill_main


@pytest.fixture
def store(tmp_path: Path) -> LibraryStore:
    spec = FillSpec(scenes=80, performers=25, rejections=6, applied=6, studios=3, seed=3)
    return LibraryStore.in_folder(fill(tmp_path, spec).parent)


def _brute(store: LibraryStore, wanted: SuggestionFilter) -> list[str]:
    """The scene ids `wanted` selects, judged from every scene built in full."""
    everything = SuggestionFilter(
        lowest_tier="unlikely", has_suggestion=None, min_frames=wanted.min_frames, limit=500
    )
    every = suggestions(store, everything)
    out = []
    for s in every.scenes:
        if wanted.studio is not None and s.studio != wanted.studio:
            continue
        if wanted.preselected_only:
            keep = any(p.preselected is not None for p in s.persons)
        else:
            keep = (
                wanted.has_suggestion is None
                or _has(s, wanted.lowest_tier) == wanted.has_suggestion
            )
        if keep:
            out.append(s.scene_id)
    return out


def _has(scene: SceneSuggestions, lowest: str) -> bool:
    return any(not c.applied and at_least(c.tier, lowest) for p in scene.persons
               for c in p.candidates)  # fmt: skip


def _page_ids(store: LibraryStore, wanted: SuggestionFilter) -> list[str]:
    return [s.scene_id for s in suggestions(store, wanted).scenes]


def _summarised(store: LibraryStore) -> set[str]:
    """The scenes whose stored summary is up to date (not marked due)."""
    with sqlite3.connect(store.path) as db:
        return {r[0] for r in db.execute(
            "SELECT scene_id FROM scene_summaries WHERE scene_id NOT IN "
            "(SELECT scene_id FROM summaries_due)")}  # fmt: skip


def _with_performer(store: LibraryStore, performer: int) -> set[str]:
    with sqlite3.connect(store.path) as db:
        return {r[0] for r in db.execute(
            "SELECT scene_id FROM candidates WHERE performer_id = ?", (performer,))}  # fmt: skip


def test_a_page_from_summaries_equals_judging_every_candidate(store: LibraryStore) -> None:
    combos = itertools.product(("high", "likely", "possible", "unlikely"), (True, False, None),
                               (False, True), (None, "Studio 1"), (1, 5))  # fmt: skip
    for tier, has, pre, studio, frames in combos:
        wanted = SuggestionFilter(lowest_tier=tier, has_suggestion=has, preselected_only=pre,
                                  studio=studio, min_frames=frames, limit=500)  # fmt: skip
        assert _page_ids(store, wanted) == _brute(store, wanted), wanted
    page = suggestions(store, SuggestionFilter(has_suggestion=None, offset=10, limit=5))
    assert (
        page.total == 80
        and [s.scene_id for s in page.scenes] == sorted(str(i) for i in range(1, 81))[10:15]
    )


def test_a_filled_library_is_left_as_a_scan_leaves_it(store: LibraryStore, tmp_path: Path) -> None:
    """The fill computes every scene's summary, as the scan does after each result: the first
    page reads them, it builds none (the review page's 20,000-scene figure measures that)."""
    assert len(_summarised(store)) == 80
    assert refresh(store) == 0
    due = fill(tmp_path / "due", FillSpec(scenes=5, performers=10, rejections=0, applied=0,
                                          summaries=False))  # fmt: skip
    assert _summarised(LibraryStore.in_folder(due.parent)) == set()


def test_the_fill_command_prints_its_figures_and_refuses_bad_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert fill_main([str(tmp_path), "--scenes", "8", "--studios", "4"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["scenes"] == 8 and printed["path"] == str(tmp_path / "library.sqlite")
    with sqlite3.connect(printed["path"]) as db:
        studios = db.execute("SELECT studio, COUNT(*) FROM scene_summaries GROUP BY studio")
        assert dict(studios.fetchall()) == {f"Studio {i}": 2 for i in range(4)}
    with pytest.raises(SystemExit) as refused:
        fill_main([str(tmp_path / "none"), "--scenes", "0"])
    assert refused.value.code == 2
    assert "--scenes and --studios must be at least 1" in capsys.readouterr().err
    assert not (tmp_path / "none").exists()


def test_decisions_undo_and_rescans_drop_the_summaries_they_change(store: LibraryStore) -> None:
    refresh(store)
    assert len(_summarised(store)) == 80
    scene = suggestions(store, SuggestionFilter(preselected_only=True, min_frames=1)).scenes[0]
    person = next(p for p in scene.persons if p.preselected is not None)
    cand = person.candidates[0]
    ref = PerformerRef.from_dicts(cand.performer_id, cand.name, cand.stash_ids)
    with sqlite3.connect(store.path) as db:
        blob = db.execute("SELECT vector FROM persons WHERE scene_id = ? AND person_id = ?",
                          (scene.scene_id, person.person_id)).fetchone()[0]  # fmt: skip
    # applied in one scene: only that scene's summary changes
    applied = store.decide("apply", scene.scene_id, person.person_id, ref)
    assert _summarised(store) == {str(i) for i in range(1, 81)} - {scene.scene_id}
    refresh(store)
    store.undo(applied)
    assert scene.scene_id not in _summarised(store)
    refresh(store)
    # a cluster rejection: every scene with a candidate of that performer
    vector = from_blob(blob)
    assert vector is not None
    store.decide("reject", scene.scene_id, person.person_id, ref,
                 vector=PersonVector("sface", vector))  # fmt: skip
    touched = _with_performer(store, cand.performer_id) | {scene.scene_id}
    assert len(touched) > 1
    assert _summarised(store) == {str(i) for i in range(1, 81)} - touched
    wanted = SuggestionFilter(preselected_only=True, min_frames=1, limit=500)
    assert _page_ids(store, wanted) == _brute(store, wanted)
    # a rescan of a scene replaces its result: its summary goes with the old result
    refresh(store)
    store.record_failure(1, SceneRef(id="5", updated_at="2026-02-01T00:00:00Z"), "gone")
    assert "5" not in _summarised(store)
    assert "5" not in _page_ids(store, SuggestionFilter(has_suggestion=None, limit=500))


def test_an_older_state_database_gains_keys_and_summaries(tmp_path: Path) -> None:
    path = tmp_path / "library.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(MIGRATIONS[0])
        db.execute("PRAGMA user_version=1")
        db.execute("INSERT INTO scenes (scene_id, stash_updated_at, status, scanned_at, "
                   "logic_version) VALUES ('9', 'x', 'done', 0, ?)", (LOGIC_VERSION,))  # fmt: skip
        db.execute("INSERT INTO persons VALUES ('9', 0, 4, '[1.0]', NULL, 'sface', NULL)")
        db.execute("INSERT INTO candidates VALUES ('9', 0, 0, 7, 'P7', NULL, 0.3, 'high', ?, "
                   "NULL, 0, NULL)", (json.dumps(stash_ids(7)),))  # fmt: skip
    with LibraryStore.in_folder(tmp_path) as store:
        assert _with_performer(store, 7) == {"9"}
        with sqlite3.connect(store.path) as db:
            keys = [r[0] for r in db.execute("SELECT key FROM candidate_keys")]
        assert keys == [f"https://stashdb.org/graphql\x1f{stash_ids(7)[0]['stash_id']}"]
        assert _page_ids(store, SuggestionFilter(preselected_only=True)) == ["9"]
