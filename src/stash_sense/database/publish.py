"""Atomic publication of a new generation: SQLite snapshot, Voyager indices, manifest, link swap.

Steps, each safe to crash after: (1) copy staging with the SQLite backup API into
`gen-N.tmp/`; (2) build one Voyager index per embedder from the copy's `embeddings`; (3) write
the manifest with every file's sha256; (4) fsync, rename `gen-N.tmp` to `gen-N`; (5) point a new
link at it and `os.replace` it over `current`; (6) delete generations older than the previous one.
Until step 5, `current` still names the old, complete generation.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from stash_sense.database.errors import DatabaseError
from stash_sense.database.layout import (
    CURRENT,
    SQLITE_NAME,
    current_generation,
    generation_name,
    generations,
    index_name,
)
from stash_sense.database.manifest import Manifest
from stash_sense.database.records import EmbedderInfo
from stash_sense.net import sha256_file

_BATCH = 50_000
INDEX_M = 16
INDEX_EF_CONSTRUCTION = 200
INDEX_SEED = 1


def publish_generation(
    root: Path,
    conn: sqlite3.Connection,
    embedders: Sequence[EmbedderInfo],
    fusion: dict[str, float],
    tiers: dict[str, Any],
    sources: dict[str, Any],
) -> Path:
    """Publish the state of `conn` as the next generation under `root`; returns its folder."""
    started = time.monotonic()
    _remove_leftovers(root)
    existing = generations(root)
    number = existing[-1][0] + 1 if existing else 1
    final = root / generation_name(number)
    tmp = root / f"{final.name}.tmp"
    try:
        tmp.mkdir()
        snapshot = tmp / SQLITE_NAME
        _backup(conn, snapshot)
        files = [snapshot]
        with contextlib.closing(sqlite3.connect(snapshot)) as copy:
            counts = count_rows(copy)
            for info in embedders:
                files.append(build_index(copy, info, tmp / index_name(info.name)))
        manifest = Manifest(
            models={e.name: e for e in embedders},
            fusion=dict(fusion),
            tiers=tiers,
            counts=counts,
            sources=sources,
            files={f.name: sha256_file(f) for f in files},
            created_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            build_seconds=time.monotonic() - started,
        )
        files.append(manifest.write(tmp))
        for f in files:
            fsync_path(f)
        fsync_path(tmp)
        os.rename(tmp, final)
        fsync_path(root)
    except OSError as err:
        shutil.rmtree(tmp, ignore_errors=True)
        raise DatabaseError(f"cannot publish into {root}: {err.strerror or err}") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    previous = current_generation(root)
    swap_current(root, final)
    prune_generations(root, keep={final.resolve(), *([previous] if previous else [])})
    return final


def swap_current(root: Path, target: Path) -> None:
    """Point `root/current` at `target` atomically: a new link under a temporary name, renamed."""
    tmp_link = root / f".{CURRENT}.tmp"
    tmp_link.unlink(missing_ok=True)
    os.symlink(target.name, tmp_link)
    os.replace(tmp_link, root / CURRENT)
    fsync_path(root)


def build_index(
    conn: sqlite3.Connection, info: EmbedderInfo, path: Path, reproducible: bool = False
) -> Path:
    """A cosine Voyager index of every live face's vector; ids are face ids.

    `reproducible`: one thread and a fixed seed, so the same vectors give the same file (releases
    rebuild indices and compare hashes); slower than inserting on every core.
    """
    from voyager import Index, Space, StorageDataType

    index = Index(
        Space.Cosine,
        num_dimensions=info.dim,
        M=INDEX_M,
        ef_construction=INDEX_EF_CONSTRUCTION,
        random_seed=INDEX_SEED,
        storage_data_type=StorageDataType.Float32,
    )
    for ids, vectors in iter_vectors(conn, info):
        index.add_items(vectors, ids, num_threads=1 if reproducible else -1)
    index.save(str(path))
    return path


def iter_vectors(
    conn: sqlite3.Connection, info: EmbedderInfo, live_only: bool = True
) -> Iterator[tuple[list[int], np.ndarray]]:
    """Face ids and their vectors for one embedder, in batches, deleted performers left out."""
    live = "AND p.deleted = 0" if live_only else ""
    cur = conn.execute(
        "SELECT e.face_id, e.vector FROM embeddings e JOIN faces f ON f.id = e.face_id "
        "JOIN performers p ON p.id = f.performer_id "
        f"WHERE e.embedder = ? {live} ORDER BY e.face_id",
        (info.name,),
    )
    while rows := cur.fetchmany(_BATCH):
        ids = [int(r[0]) for r in rows]
        vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).copy()
        if vectors.size != len(rows) * info.dim:
            raise DatabaseError(f"stored {info.name} vectors are not {info.dim}-dimensional")
        yield ids, vectors.reshape(len(rows), info.dim)


def count_rows(conn: sqlite3.Connection) -> dict[str, int]:
    def one(sql: str) -> int:
        return int(conn.execute(sql).fetchone()[0])

    return {
        "performers": one("SELECT count(*) FROM performers WHERE deleted = 0"),
        "faces": one(
            "SELECT count(*) FROM faces f JOIN performers p ON p.id = f.performer_id "
            "WHERE p.deleted = 0"
        ),
        "stash_ids": one(
            "SELECT count(*) FROM stash_ids s JOIN performers p ON p.id = s.performer_id "
            "WHERE p.deleted = 0"
        ),
        "performers_with_faces": one(
            "SELECT count(DISTINCT f.performer_id) FROM faces f JOIN performers p "
            "ON p.id = f.performer_id WHERE p.deleted = 0"
        ),
        "deleted_performers": one("SELECT count(*) FROM performers WHERE deleted = 1"),
        "skipped_images": one("SELECT count(*) FROM skipped_images"),
    }


def source_summary(conn: sqlite3.Connection, reported: dict[str, Any]) -> dict[str, Any]:
    """Per source: performers seen, with faces, faces, skips by reason; overlaid by `reported`."""
    out: dict[str, dict[str, Any]] = {}
    for source, seen in conn.execute(
        "SELECT primary_source, count(*) FROM performers WHERE primary_source IS NOT NULL "
        "GROUP BY primary_source"
    ):
        out.setdefault(source, {})["performers_seen"] = int(seen)
    for source, with_faces, faces in conn.execute(
        "SELECT source, count(DISTINCT performer_id), count(*) FROM faces GROUP BY source"
    ):
        entry = out.setdefault(source, {})
        entry["with_faces"] = int(with_faces)
        entry["faces"] = int(faces)
    for source, reason, n in conn.execute(
        "SELECT source, reason, count(*) FROM skipped_images GROUP BY source, reason"
    ):
        out.setdefault(source, {}).setdefault("skipped", {})[reason] = int(n)
    for source, stats in reported.items():
        out.setdefault(source, {}).update(stats)
    for entry in out.values():
        entry.setdefault("performers_seen", 0)
        entry.setdefault("with_faces", 0)
        entry.setdefault("faces", 0)
        entry.setdefault("skipped", {})
    return out


def _backup(conn: sqlite3.Connection, dest: Path) -> None:
    """A consistent copy of the staging database, as one self-contained file (no WAL)."""
    with contextlib.closing(sqlite3.connect(dest)) as out:
        conn.backup(out)
        out.execute("PRAGMA journal_mode=DELETE")
        out.commit()


def fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_leftovers(root: Path) -> None:
    """Folders of an interrupted publish (`gen-N.tmp`) are never read: remove them."""
    for child in root.glob("gen-*.tmp"):
        shutil.rmtree(child, ignore_errors=True)


def prune_generations(root: Path, keep: set[Path]) -> None:
    """Delete generations other than the new one and the previous one (readers hold open files)."""
    for _number, gen in generations(root):
        if gen.resolve() not in keep:
            shutil.rmtree(gen, ignore_errors=True)
