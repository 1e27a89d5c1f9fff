"""Helper of the library tests: a scenes folder of eval scene-1 copies for the Stash stand-in."""

from __future__ import annotations

import os
import time
from pathlib import Path


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
