"""Deltas installed at the cost of what changed: for a large database, a chain of deltas is
applied to the installed generation in place (`database.incremental`) and checked against the
content the publisher signed, instead of rebuilding every file canonically.

A delta manifest signs `content` (the new database's `content_digest`) and `base.content` (the
base's). Below INCREMENTAL_FACES faces the canonical rebuild is cheap (seconds) and gives the
published files byte for byte, so it stays the way; above, the installed files are the
installed generation's patched ones, and the generation's own `manifest.json` lists their sha256
(so `db check` still finds a damaged file). docs/scale.md has the measurements.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
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


def is_base(current: Path, base: dict[str, Any]) -> bool:
    """Whether the installed generation is this delta's base: the same file, or (a generation an
    incremental update installed) the same signed content."""
    if sha256_file(current / SQLITE_NAME) == base["files"][SQLITE_NAME]:
        return True
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
        apply_incremental(base, payload / DELTA_NAME, out, embedders, manifest["content"])
        files = {p.name: sha256_file(p) for p in sorted(out.iterdir()) if p.is_file()}
        data = {**database, "files": files, "content": manifest["content"]}
        (out / MANIFEST_NAME).write_text(json.dumps(data, indent=2) + "\n")
        base = out
