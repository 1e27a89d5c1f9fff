"""Merge evidence from tagged scenes' faces, as the library benchmark's chosen scenes showed it
wrong: a face no database performer claims, or one that contradicts its performer, is none."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scan_stash import STASHDB, add_scanned_scene

from stash_sense.library import LibraryStore
from stash_sense.library.health_refresh import LocalPerformer, merge_items
from stash_sense.library.health_scenes import tagged_faces
from stash_sense.matching.match import Match


def test_a_strangers_face_under_two_performers_is_no_merge(tmp_path: Path) -> None:
    """The benchmark: one video (a stranger, not in the face database) wrongly tagged with "B."
    on one scene and "A. Banderas" on another: "0.000 apart", merged. Now no evidence."""
    face = np.random.default_rng(3).normal(size=128).astype(np.float32)
    with LibraryStore.in_folder(tmp_path) as store:
        add_scanned_scene(store, "11", "40", face, (9, "possible", ["s9"]))
        add_scanned_scene(store, "9641", "41", face, None)
        locals_ = [LocalPerformer(p, f"P{p}", None, None, 1, []) for p in ("40", "41")]
        assert merge_items(locals_, 0.4, tagged_faces(store)) == []


def test_a_face_contradicting_its_performer_is_no_merge(tmp_path: Path) -> None:
    """A wrongly tagged scene shows database performer 5 ("high"): tagged "X" holds another
    stash id, tagged "Y"'s picture matches performer 6. Neither takes the face; "Z", tagged on
    a scene of performer 5 too and known for nothing else, still merges with "W" (the same)."""
    rng = np.random.default_rng(4)
    face = rng.normal(size=128).astype(np.float32)
    near = (face + 0.02 * rng.normal(size=128)).astype(np.float32)
    with LibraryStore.in_folder(tmp_path) as store:
        for scene, performer in (("1", "X"), ("2", "Y"), ("3", "Z"), ("4", "W")):
            add_scanned_scene(
                store, scene, performer, face if scene != "4" else near, (5, "high", ["s5"])
            )
        six = Match(performer_id=6, name="Six", disambiguation=None, distance=0.2, tier="high")
        locals_ = [
            LocalPerformer("X", "PX", None, None, 1, [(STASHDB, "other")]),
            LocalPerformer("Y", "PY", None, None, 1, [], match=six),
            LocalPerformer("Z", "PZ", None, None, 1, []),
            LocalPerformer("W", "PW", None, None, 1, [(STASHDB, "s5")]),
        ]
        [item] = merge_items(locals_, 0.4, tagged_faces(store))
    assert sorted(p["id"] for p in item["performers"]) == ["W", "Z"]
    assert all("tagged scenes' faces: scene 3" in e for e in item["evidence"]), item
