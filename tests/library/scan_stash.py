"""Helper of the library tests: a scenes folder of eval scene-1 copies for the Stash stand-in."""

from __future__ import annotations

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
