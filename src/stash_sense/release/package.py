"""`db package`: turn a database into a signed release (full, and a delta against the last one).

Layout of a release folder (publish all of it except `.canonical/`):

    index.json                         every release, newest first
    <version>/full.release.json        signed manifest of the full release
    <version>/stash-sense-db-<version>-full.tar.gz.000 ...
    <version>/delta.release.json       signed manifest of the delta from the previous version
    <version>/stash-sense-db-<version>-delta.tar.gz.000 ...
    .canonical/<version>/              the canonical database of the newest release (the base of
                                       the next delta; the maintainer keeps it)
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nacl.signing import SigningKey

from stash_sense import __version__
from stash_sense.database.canonical import export_canonical
from stash_sense.database.diff import write_diff
from stash_sense.database.layout import SQLITE_NAME, resolve_generation
from stash_sense.database.manifest import MANIFEST_NAME, SCHEMA_VERSION
from stash_sense.database.publish import sha256_file
from stash_sense.release.archive import DEFAULT_PART_SIZE, pack
from stash_sense.release.errors import ReleaseError
from stash_sense.release.incremental import signed_content
from stash_sense.release.keys import sign
from stash_sense.release.manifest import (
    DELTA_NAME,
    MANIFEST_SUFFIX,
    RELEASE_FORMAT,
    check_index,
    file_entries,
    new_index,
    parse_version,
)

INDEX_NAME = "index.json"
CANONICAL = ".canonical"


def read_index_file(out: Path) -> dict[str, Any]:
    path = out / INDEX_NAME
    if not path.exists():
        return new_index()
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise ReleaseError(f"cannot read {path}: {err}") from None
    data["releases"] = check_index(data)
    return data


def write_json_atomic(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)


def _database_manifest(generation: Path, created_at: str) -> dict[str, Any]:
    """The source generation's manifest, made reproducible: release date, no build time."""
    data: dict[str, Any] = json.loads((generation / MANIFEST_NAME).read_text())
    data["created_at"] = created_at
    data["build_seconds"] = 0.0
    return data


def _release_manifest(
    kind: str, version: str, created_at: str, min_program: str, database: dict[str, Any]
) -> dict[str, Any]:
    return {
        "format": RELEASE_FORMAT,
        "version": version,
        "kind": kind,
        "created_at": created_at,
        "schema_version": SCHEMA_VERSION,
        "min_program_version": min_program,
        "models": database.get("models", {}),
        "counts": database.get("counts", {}),
        "sources": database.get("sources", {}),
        "calibration": database.get("tiers", {}),
        "database": database,
    }


def _write_signed(path: Path, manifest: dict[str, Any], keys: list[SigningKey]) -> None:
    write_json_atomic(path, {"manifest": manifest, "signatures": [sign(manifest, k) for k in keys]})


def package(
    db: Path,
    out: Path,
    keys: list[SigningKey],
    version: str | None = None,
    part_size: int = DEFAULT_PART_SIZE,
    min_program_version: str = __version__,
    delta: bool = True,
) -> dict[str, Any]:
    """Package the database `db` as release `version` into `out`; returns its index entry."""
    if not keys:
        raise ReleaseError("a release needs at least one signing key")
    generation = resolve_generation(Path(db))
    now = datetime.now(UTC)
    version = version or now.strftime("%Y.%m.%d")
    created_at = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    parse_version(version)
    parse_version(min_program_version)
    out.mkdir(parents=True, exist_ok=True)
    index = read_index_file(out)
    previous = index["releases"][0] if index["releases"] else None
    if previous is not None and parse_version(previous["version"]) >= parse_version(version):
        raise ReleaseError(
            f"release {version} is not newer than {previous['version']}, the newest in {out}"
        )
    folder = out / version
    canonical = out / CANONICAL / version
    shutil.rmtree(canonical, ignore_errors=True)
    try:
        folder.mkdir()
        database = export_canonical(
            generation / SQLITE_NAME, canonical, _database_manifest(generation, created_at)
        )
        names = [SQLITE_NAME, *sorted(n for n in database["files"] if n != SQLITE_NAME)]
        files = file_entries(canonical, [*names, MANIFEST_NAME])
        entry: dict[str, Any] = {
            "version": version,
            "created_at": created_at,
            "schema_version": SCHEMA_VERSION,
            "min_program_version": min_program_version,
            "counts": database["counts"],
        }
        stem = f"stash-sense-db-{version}"
        full = _release_manifest("full", version, created_at, min_program_version, database)
        full.update(base=None, files=files, payload=files)
        full["parts"] = pack(
            [canonical / f["name"] for f in files], folder, f"{stem}-full", part_size
        )
        _write_signed(folder / f"full{MANIFEST_SUFFIX}", full, keys)
        entry["full"] = {
            "manifest": f"{version}/full{MANIFEST_SUFFIX}",
            "size": sum(p["size"] for p in full["parts"]),
        }
        base_db = out / CANONICAL / str(previous["version"]) / SQLITE_NAME if previous else None
        if delta and previous is not None and base_db is not None and base_db.is_file():
            with tempfile.TemporaryDirectory(dir=out) as tmp:
                delta_path = Path(tmp) / DELTA_NAME
                changes = write_diff(base_db, canonical / SQLITE_NAME, delta_path)
                payload = file_entries(Path(tmp), [DELTA_NAME])
                man = _release_manifest("delta", version, created_at, min_program_version, database)
                man.update(
                    base={
                        "version": previous["version"],
                        "files": {SQLITE_NAME: sha256_file(base_db)},
                        **signed_content(base_db),
                    },
                    **signed_content(canonical / SQLITE_NAME),
                    files=files,
                    payload=payload,
                    changes=changes,
                )
                man["parts"] = pack([delta_path], folder, f"{stem}-delta", part_size)
            _write_signed(folder / f"delta{MANIFEST_SUFFIX}", man, keys)
            entry["delta"] = {
                "base": previous["version"],
                "manifest": f"{version}/delta{MANIFEST_SUFFIX}",
                "size": sum(p["size"] for p in man["parts"]),
            }
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(canonical, ignore_errors=True)
        raise
    index["releases"].insert(0, entry)
    write_json_atomic(out / INDEX_NAME, index)
    for old in (out / CANONICAL).iterdir():
        if old.name != version:
            shutil.rmtree(old, ignore_errors=True)
    return entry
