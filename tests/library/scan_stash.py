"""Helpers of the library tests: scenes folders of eval scene-1 copies for the Stash stand-in, a
recognizer lent with growing memory, a scanned scene written into the state database."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from stash_sense.library.identity import to_blob

STASHDB = "https://stashdb.org/graphql"


def make_scenes(base: Path, data_dir: Path, copies: int, empty: tuple[int, ...] = ()) -> Path:
    """scene-1..copies: eval scene-1 (symlinked, so all share one updated_at second); each
    id of `empty` an empty folder (a scene whose files are gone)."""
    base.mkdir(parents=True, exist_ok=True)
    for i in range(1, copies + 1):
        (base / f"scene-{i}").symlink_to(data_dir / "scenes" / "scene-1")
    for i in empty:
        (base / f"scene-{i}").mkdir()
    return base


def make_dated_scenes(base: Path, data_dir: Path, copies: int) -> Path:
    """scene-1..copies: folders of links to eval scene-1's files, each folder's time (the
    stand-in's `updated_at`) ten seconds after the one before, so pages follow the watermark."""
    base.mkdir(parents=True, exist_ok=True)
    source = data_dir / "scenes" / "scene-1"
    start = int(time.time()) - 3600
    for i in range(1, copies + 1):
        folder = base / f"scene-{i}"
        folder.mkdir()
        for entry in source.iterdir():
            (folder / entry.name).symlink_to(entry)
        os.utime(folder, (start + 10 * i, start + 10 * i))
    return base


def lend_growing(recognizer: Any, at_scene: int, megabytes: int) -> Callable[[], Any]:
    """A `use` for LibraryScan lending `recognizer`, and from scene `at_scene` on holding
    `megabytes` more memory (the held block is freed with the returned function)."""
    held: list[np.ndarray] = []
    lent = 0

    @contextmanager
    def use() -> Iterator[Any]:
        nonlocal lent
        if threading.current_thread() is threading.main_thread():  # one call a scene
            lent += 1
            if lent == at_scene:
                held.append(np.ones(megabytes * 2**20, np.uint8))
        yield recognizer

    return use


def add_scanned_scene(store: Any, scene: str, performer: str, face: np.ndarray,
                      candidate: tuple[int, str, list[str]] | None,
                      name: str = "D") -> None:  # fmt: skip
    """A scanned scene with one performer tagged and one person: `candidate` (database id, tier,
    stash ids on StashDB) its first candidate, named `name`, or none."""
    with store.transaction() as db:
        db.execute(
            "INSERT INTO scenes (scene_id, stash_updated_at, title, status, scanned_at, "
            "logic_version) VALUES (?, '2026-01-01T00:00:00Z', 't', 'done', 0, 1)", (scene,)
        )  # fmt: skip
        db.execute("INSERT INTO scene_performers VALUES (?, ?, ?, '[]')",
                   (scene, performer, f"P{performer}"))  # fmt: skip
        db.execute("INSERT INTO persons (scene_id, person_id, frames, times, embedder, vector) "
                   "VALUES (?, 0, 5, '[]', 'sface', ?)", (scene, to_blob(face)))  # fmt: skip
        if candidate is not None:
            pid, tier, sids = candidate
            ids = json.dumps([{"endpoint": STASHDB, "stash_id": s} for s in sids])
            db.execute("INSERT INTO candidates VALUES (?, 0, 0, ?, ?, NULL, 0.2, ?, ?, NULL, "
                       "0, NULL)", (scene, pid, name, tier, ids))  # fmt: skip
