"""Publish a face database as signed releases (`db keygen`, `db package`) and check an install
(`db check`); docs/releases.md. Downloading, installing and rolling back are app.updates'."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stash_sense import __version__
from stash_sense.database import DatabaseError
from stash_sense.release import ReleaseError, generate_key, load_signing_key, package
from stash_sense.release.completeness import Completeness, check_install

__all__ = [
    "Completeness",
    "DatabaseError",
    "ReleaseError",
    "check_install",
    "make_key",
    "package_release",
]


def make_key(out: Path) -> dict[str, str]:
    """Write a new private signing key to `out` (0600, never overwritten); its public entry,
    which is a keys.json as it is. ReleaseError when it cannot."""
    return generate_key(out)


def package_release(
    db: Path,
    out: Path,
    keys: list[Path],
    *,
    version: str | None = None,
    part_size: int,
    min_program_version: str | None = None,
    delta: bool = True,
) -> dict[str, Any]:
    """Package the database at `db` as a release into `out`, signed by every key file of `keys`
    (and a delta from the previous release); its index entry. ReleaseError, DatabaseError."""
    signing = [load_signing_key(k) for k in keys]
    return package(db, out, signing, version, part_size, min_program_version or __version__, delta)
