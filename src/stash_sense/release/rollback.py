"""`db rollback`, and the lock that lets one update or rollback of a folder run at a time."""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path

from stash_sense.database.layout import current_generation, generations
from stash_sense.database.publish import swap_current
from stash_sense.release.errors import ReleaseError

LOCK_NAME = ".update.lock"


@contextlib.contextmanager
def update_lock(root: Path) -> Iterator[None]:
    """One update or rollback of a database folder at a time."""
    root.mkdir(parents=True, exist_ok=True)
    with (root / LOCK_NAME).open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise ReleaseError(f"{root} is being updated by another process") from None
        yield


def rollback(root: Path) -> tuple[str, str]:
    """Point `current` back at the previous generation; returns (from, to) folder names."""
    root = Path(root)
    with update_lock(root):
        current = current_generation(root)
        if current is None:
            raise ReleaseError(f"{root} holds no published database")
        # `current` is resolved: resolve the others too (a relative `root` lists relative paths)
        older = [g for _n, g in generations(root) if g.resolve() < current]
        if not older:
            raise ReleaseError(f"{root} keeps no previous generation to roll back to")
        swap_current(root, older[-1])
        return current.name, older[-1].name
