"""Where things live in a database folder: `current` link, `gen-NNNNNN/` generations, `staging/`."""

from __future__ import annotations

import re
from pathlib import Path

from stash_sense.database.errors import DatabaseError
from stash_sense.database.manifest import MANIFEST_NAME

CURRENT = "current"
STAGING = "staging"
SQLITE_NAME = "faces.sqlite"
GEN_RE = re.compile(r"^gen-(\d{6})$")


def index_name(embedder: str) -> str:
    return f"index-{embedder}.voy"


def generation_name(number: int) -> str:
    return f"gen-{number:06d}"


def generations(root: Path) -> list[tuple[int, Path]]:
    """Finished generations under `root`, oldest first (temporary `.tmp` folders excluded)."""
    found: list[tuple[int, Path]] = []
    if not root.is_dir():
        return found
    for child in root.iterdir():
        m = GEN_RE.match(child.name)
        if m and child.is_dir() and not child.is_symlink():
            found.append((int(m.group(1)), child))
    return sorted(found)


def current_generation(root: Path) -> Path | None:
    """The generation `root/current` points at, or None when there is none yet."""
    link = root / CURRENT
    if not link.is_symlink() and not link.exists():
        return None
    target = link.resolve()
    if not (target / MANIFEST_NAME).is_file():
        raise DatabaseError(f"{link} points at {target}, which is not a database generation")
    return target


def resolve_generation(path: Path) -> Path:
    """The generation folder a user's `--db` names: a DB root (via `current`) or a generation.

    The link is resolved once, so a reader keeps its generation while a newer one is published.
    """
    if not path.exists():
        raise DatabaseError(f"no face database at {path}")
    if not path.is_dir():
        raise DatabaseError(f"{path} is not a folder: pass the database folder")
    if (path / MANIFEST_NAME).exists():
        return path.resolve()
    gen = current_generation(path)
    if gen is None:
        raise DatabaseError(
            f"{path} holds no published database (no {CURRENT} link and no {MANIFEST_NAME})"
        )
    return gen
