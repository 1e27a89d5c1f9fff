"""Is everything there? The face models and the database, checked file by file, for a first start.

A broken first download is the most common failure people report with tools of this kind; this
says exactly which file is missing or damaged instead of failing later on the first request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from stash_sense.database.errors import DatabaseError
from stash_sense.database.layout import resolve_generation
from stash_sense.database.manifest import MANIFEST_NAME, Manifest
from stash_sense.database.publish import sha256_file
from stash_sense.models import REGISTRY, ModelError, resolve_model_path


@dataclass
class Completeness:
    """Problems found, one sentence each, by kind."""

    models: list[str] = field(default_factory=list)
    database: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.models and not self.database


def check_models() -> list[str]:
    """Every model the default engine needs (the non-optional ones): present and intact."""
    problems = []
    for spec in REGISTRY.values():
        if spec.optional:
            continue
        try:
            resolve_model_path(spec.name, verify=True)
        except ModelError as err:
            problems.append(str(err))
    return problems


def check_database(db: Path) -> list[str]:
    """The published generation `db` names: manifest readable, every listed file whole."""
    try:
        folder = resolve_generation(Path(db))
        manifest = Manifest.read(folder)
    except DatabaseError as err:
        return [str(err)]
    problems = []
    for name, digest in manifest.files.items():
        path = folder / name
        if not path.is_file():
            problems.append(f"database file {path} is missing")
        elif sha256_file(path) != digest:
            problems.append(
                f"database file {path} is damaged (its sha256 differs from the manifest)"
            )
    if not manifest.files:
        problems.append(f"{folder / MANIFEST_NAME} lists no files to check")
    return problems


def check_install(db: Path) -> Completeness:
    return Completeness(models=check_models(), database=check_database(db))
