"""Stash scenes: matches already on the scene, faces on the whole sprite sheet, picking times."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
import psutil

from stash_sense.faces import FaceEngine
from stash_sense.matching import Match
from stash_sense.scenes.frames import sprite_frames
from stash_sense.scenes.identify import Person, SceneResult
from stash_sense.scenes.stash import (
    MIN_SPRITE_FACE_PX,
    face_times,
    performers_on_scene,
    pick_times,
    spread,
)
from stash_sense.sources.stash import StashId, StashPerformer, StashScene

STASHDB = "https://stashdb.org/graphql"
FANSDB = "https://fansdb.cc/graphql"


def _match(pid: int, name: str, stash_ids: list[tuple[str, str]]) -> Match:
    ids = [{"endpoint": e, "stash_id": s} for e, s in stash_ids]
    return Match(pid, name, None, 0.3, "high", ids)


def test_marks_by_any_shared_stash_id() -> None:
    scene = StashScene(
        "7", None, None, None, None, None, [],
        [StashPerformer("41", "A", [StashId(FANSDB, "fa")]), StashPerformer("42", "No ids")],
    )  # fmt: skip
    matches = [
        _match(1, "A", [(STASHDB, "sa"), (FANSDB, "fa")]),
        _match(2, "B", [(STASHDB, "sb")]),
        _match(3, "No ids", []),
    ]
    person = Person(0, [], matches, "")
    result = SceneResult("7", "video", 1, 1, 0.1, [person])
    assert performers_on_scene(result, scene) == [["41", None, None]]


def test_spread_keeps_order_and_count() -> None:
    values = [float(v) for v in np.arange(100)]
    picked = spread(values, 10)
    assert len(picked) == 10 and picked == sorted(picked)
    assert picked[0] < 10 and picked[-1] > 90
    assert spread([1.0, 2.0], 5) == [1.0, 2.0]


def test_face_times_on_a_whole_eval_sheet(data_dir: Path) -> None:
    folder = data_dir / "scenes" / "scene-1"
    sheet = cv2.imread(str(folder / "scene_sprite.jpg"))
    frames = sprite_frames(sheet, (folder / "scene_thumbs.vtt").read_text())
    times, widest = face_times(sheet, frames)
    # everyone in scene-1 is on screen the whole time; thumbnails show faces ~20 px wide
    assert len(times) >= 75 and times == sorted(times)
    assert 8 < widest < MIN_SPRITE_FACE_PX


def test_face_times_on_an_empty_sheet() -> None:
    sheet = np.full((180, 320, 3), 90, np.uint8)
    vtt = "WEBVTT\n\n00:00.000 --> 00:01.000\ns.jpg#xywh=0,0,160,90\n"
    assert face_times(sheet, sprite_frames(sheet, vtt)) == ([], 0.0)


def test_pick_times_mixes_face_times_and_even_ones() -> None:
    face_at = [10.0 + i for i in range(20)]
    picked = pick_times(face_at, 100.0, 8)
    assert len(picked) == 8 and picked == sorted(picked)
    assert sum(10 <= t < 30 for t in picked) >= 6
    assert pick_times([], 10.0, 4) == [1.25, 3.75, 6.25, 8.75]


def test_the_presence_pass_holds_a_row_not_a_whole_sheet(data_dir: Path) -> None:
    """The detector keeps buffers for the largest input it saw, per thread (the scan's prefetch
    thread keeps its own): a whole enlarged sheet cost about 530 MB, a row of it about 100 MB."""
    folder = data_dir / "scenes" / "scene-1"
    sheet = cv2.imread(str(folder / "scene_sprite.jpg"))
    frames = sprite_frames(sheet, (folder / "scene_thumbs.vtt").read_text())
    engine = FaceEngine.default()
    process = psutil.Process()
    grown: list[float] = []

    def presence_pass() -> None:  # a new thread: a detector of its own, as the prefetch's
        before = process.memory_info().rss
        assert face_times(sheet, frames, engine)[0]
        grown.append((process.memory_info().rss - before) / 2**20)

    thread = threading.Thread(target=presence_pass)
    thread.start()
    thread.join()
    assert grown and grown[0] < 250, f"the presence pass grew the process by {grown[0]:.0f} MB"
