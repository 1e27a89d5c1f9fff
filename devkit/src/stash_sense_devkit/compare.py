"""What a published database holds, in comparable form: to check that a build killed, disturbed and
resumed ends exactly where a clean build of the final upstream state ends (tests and
`bench/bench_build.py`). Live performers only: a performer deleted upstream is kept, marked, by
the build that saw it, and never seen by a clean build."""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from stash_sense.database.layout import SQLITE_NAME, resolve_generation


@dataclass(frozen=True)
class DatabaseContents:
    """Performers by stash id, faces by (stash id, image) with a digest of their vectors, skips."""

    performers: frozenset[tuple[str, str, str, bool]]  # (endpoint, stash_id, name, merged away)
    faces: frozenset[tuple[str, str, str]]  # (stash_id, source_image, sha1 of the vectors)
    skipped: frozenset[tuple[str, str]]  # (source_image, reason)

    def differences(self, other: DatabaseContents) -> list[str]:
        """Human-readable differences (empty when equal)."""
        out = []
        for label in ("performers", "faces", "skipped"):
            mine, theirs = getattr(self, label), getattr(other, label)
            if mine != theirs:
                out.append(
                    f"{label}: {len(mine - theirs)} only here, {len(theirs - mine)} only there "
                    f"(e.g. {sorted(mine ^ theirs)[:2]})"
                )
        return out


def read_contents(db: Path) -> DatabaseContents:
    """The contents of the current generation of `db` (a database folder or a generation)."""
    folder = resolve_generation(Path(db))
    conn = sqlite3.connect(f"file:{folder / SQLITE_NAME}?mode=ro", uri=True)
    try:
        performers = frozenset(
            (endpoint, stash_id, name, bool(merged))
            for endpoint, stash_id, name, merged in conn.execute(
                "SELECT s.endpoint, s.stash_id, p.name, EXISTS(SELECT 1 FROM merged_stash_ids m "
                "WHERE m.endpoint = s.endpoint AND m.stash_id = s.stash_id) FROM performers p "
                "JOIN stash_ids s ON s.performer_id = p.id WHERE p.deleted = 0"
            )
        )
        faces = set()
        for face_id, stash_id, image in conn.execute(
            "SELECT f.id, min(s.stash_id), f.source_image FROM faces f "
            "JOIN stash_ids s ON s.performer_id = f.performer_id "
            "JOIN performers p ON p.id = f.performer_id WHERE p.deleted = 0 GROUP BY f.id"
        ):
            digest = hashlib.sha1()
            for (vector,) in conn.execute(
                "SELECT vector FROM embeddings WHERE face_id = ? ORDER BY embedder", (face_id,)
            ):
                digest.update(vector)
            faces.add((stash_id, image, digest.hexdigest()))
        skipped = frozenset(
            (str(image), str(reason))
            for image, reason in conn.execute(
                "SELECT source_image, reason FROM skipped_images k WHERE NOT EXISTS "
                "(SELECT 1 FROM performers p WHERE p.id = k.performer_id AND p.deleted = 1)"
            )
        )
    finally:
        conn.close()
    return DatabaseContents(performers, frozenset(faces), skipped)


def committed_performers(db: Path) -> int:
    """Performers committed to the staging database so far (0 before the first commit); safe
    to call while a build writes (WAL)."""
    path = Path(db) / "staging" / SQLITE_NAME
    if not path.exists():
        return 0
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        return int(conn.execute("SELECT count(*) FROM performers").fetchone()[0])
    except sqlite3.Error:
        return 0
    finally:
        conn.close()
