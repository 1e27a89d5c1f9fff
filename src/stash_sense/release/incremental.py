"""Deltas installed at the cost of what changed: for a large database, a chain of deltas is
applied to the installed generation in place (`database.incremental`) and checked against the
content the publisher signed, instead of rebuilding every file canonically.

A delta manifest signs `content` (the new database's `content_digest`) and `content_set` (its
LtHash set hash, `database/sethash.py`), and the same two of its base. With the set hashes, the
installer hashes and checks only what the delta touches (the base's files checked against the
sha256 its generation recorded); without them, the whole content.

Below INCREMENTAL_FACES faces the canonical rebuild is cheap (seconds) and gives the published
files byte for byte, so it stays the way; above, the installed files are the
installed generation's patched ones, and the generation's own `manifest.json` lists their sha256
(so `db check` still finds a damaged file). docs/scale.md has the measurements.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from stash_sense.database.content import content_digest
from stash_sense.database.errors import DatabaseError
from stash_sense.database.incremental import apply_incremental
from stash_sense.database.layout import SQLITE_NAME
from stash_sense.database.manifest import MANIFEST_NAME
from stash_sense.database.publish import sha256_file
from stash_sense.database.records import EmbedderInfo
from stash_sense.database.schema import connect_readonly
from stash_sense.database.sethash import set_hash
from stash_sense.release.archive import unpack
from stash_sense.release.manifest import DELTA_NAME

#: from this many faces on, deltas are applied incrementally (75 s of canonical rebuild at
#: 30,000 faces; minutes at 370,000 on 2 cores)
INCREMENTAL_FACES = 50_000


def sqlite_content(folder: Path) -> str | None:
    """The content digest of a generation's SQLite file (None when it cannot be read)."""
    try:
        with contextlib.closing(connect_readonly(folder / SQLITE_NAME)) as conn:
            return content_digest(conn)
    except (DatabaseError, OSError, ValueError, sqlite3.Error):
        return None


def signed_content(sqlite_path: Path) -> dict[str, str]:
    """What a delta manifest signs of a database's content (publisher side: hashes it all)."""
    with contextlib.closing(connect_readonly(sqlite_path)) as conn:
        return {"content": content_digest(conn), "content_set": set_hash(conn).hex()}


def _recorded(current: Path) -> dict[str, Any]:
    """The generation's own manifest.json (empty when it cannot be read)."""
    try:
        data = json.loads((current / MANIFEST_NAME).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def is_base(current: Path, base: dict[str, Any]) -> bool:
    """Whether the installed generation is this delta's base: the same file, or (a generation an
    incremental update installed) the same signed content: its recorded set hash (its files are
    checked against their recorded sha256 when the delta is applied), else its whole content."""
    if sha256_file(current / SQLITE_NAME) == base["files"][SQLITE_NAME]:
        return True
    recorded = _recorded(current)
    if isinstance(base.get("content_set"), str) and "content_set" in recorded:
        return bool(recorded["content_set"] == base["content_set"])
    content = base.get("content")
    return isinstance(content, str) and sqlite_content(current) == content


def wanted(manifests: list[dict[str, Any]]) -> bool:
    """Whether this chain is applied incrementally: every step signs its content, and the result
    is large enough for a canonical rebuild to cost minutes."""
    faces = int(manifests[-1].get("counts", {}).get("faces") or 0)
    signed = all(isinstance(m.get("content"), str) for m in manifests)
    return signed and faces >= INCREMENTAL_FACES


def apply_chain(
    current: Path,
    manifests: list[dict[str, Any]],
    part_paths: list[list[Path]],
    work: Path,
    dest: Path,
) -> None:
    """Apply each delta to the previous result (first: `current`), into `dest` at the end;
    raises DatabaseError when a result is not the signed content."""
    base = current
    for step, (manifest, parts) in enumerate(zip(manifests, part_paths, strict=True)):
        payload = work / f"payload-{step}"
        payload.mkdir()
        unpack(parts, payload, manifest["payload"])
        out = dest if step == len(manifests) - 1 else work / f"gen-{step}"
        database = manifest["database"]
        embedders = [EmbedderInfo.from_manifest(n, e) for n, e in database["models"].items()]
        sets = _sets(manifest)
        apply_incremental(
            base, payload / DELTA_NAME, out, embedders, manifest["content"], sets=sets
        )
        paths = sorted(p for p in out.iterdir() if p.is_file())
        with ThreadPoolExecutor(max_workers=len(paths) or 1) as pool:
            files = {p.name: d for p, d in zip(paths, pool.map(sha256_file, paths), strict=True)}
        data = {**database, "files": files, "content": manifest["content"]}
        if sets is not None:
            data["content_set"] = sets[1]
        (out / MANIFEST_NAME).write_text(json.dumps(data, indent=2) + "\n")
        base = out


def _sets(manifest: dict[str, Any]) -> tuple[str, str] | None:
    """The signed set hashes of a delta's base and result, when it carries both."""
    old, new = manifest.get("base", {}).get("content_set"), manifest.get("content_set")
    return (old, new) if isinstance(old, str) and isinstance(new, str) else None
