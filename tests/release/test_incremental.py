"""A diff applied incrementally (SQLite patched, indices updated in place) gives the content of a
full canonical rebuild, and a tampered diff or base index is refused."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from relsynth import EMBEDDERS, add_performer, change

from stash_sense.database import DatabaseError, DatabaseWriter
from stash_sense.database.canonical import export_canonical
from stash_sense.database.content import content_digest, index_digest, live_vectors
from stash_sense.database.diff import write_diff
from stash_sense.database.incremental import apply_incremental
from stash_sense.database.layout import SQLITE_NAME, current_generation, index_name
from stash_sense.database.manifest import Manifest
from stash_sense.database.schema import connect_readonly


def _canonical(root: Path, dest: Path) -> Path:
    gen = current_generation(root)
    assert gen is not None
    data = Manifest.read(gen).as_dict()
    export_canonical(gen / SQLITE_NAME, dest, {k: v for k, v in data.items() if k != "files"})
    return dest


def _digest(folder: Path) -> str:
    with contextlib.closing(connect_readonly(folder / SQLITE_NAME)) as conn:
        return content_digest(conn)


@pytest.fixture(scope="module")
def versions(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """Canonical exports of two versions of a database and the diff between them."""
    base = tmp_path_factory.mktemp("incremental")
    rng = np.random.default_rng(3)
    root = base / "src"
    with DatabaseWriter.open(root, EMBEDDERS) as w:
        with w.transaction():
            for i in range(60):
                add_performer(w, rng, i)
        w.publish()
        old = _canonical(root, base / "old")
        change(w, rng, 1, 60)
        w.publish()
        new = _canonical(root, base / "new")
    write_diff(old / SQLITE_NAME, new / SQLITE_NAME, base / "delta.sqlite")
    return old, new, base / "delta.sqlite"


def test_incremental_equals_full_rebuild(versions: tuple[Path, Path, Path], tmp_path: Path) -> None:
    old, new, delta = versions
    out = apply_incremental(old, delta, tmp_path / "out", EMBEDDERS, _digest(new), probe=50)
    assert _digest(out) == _digest(new) != _digest(old)
    from voyager import Index

    with contextlib.closing(connect_readonly(new / SQLITE_NAME)) as conn:
        for info in EMBEDDERS:
            ids, _ = live_vectors(conn, info)
            full = Index.load(str(new / index_name(info.name)))
            patched = Index.load(str(out / index_name(info.name)))
            assert index_digest(patched, ids) == index_digest(full, ids)
            # a removed face is never returned by the patched index
            base = Index.load(str(old / index_name(info.name)))  # .ids lives as long as it
            gone = {int(i) for i in base.ids} - {int(i) for i in ids}
            assert gone
            hits = patched.query(np.stack(full.get_vectors([int(i) for i in ids])), k=5)[0]
            assert not gone & set(np.asarray(hits).reshape(-1).tolist())


def test_a_tampered_vector_in_the_delta_is_refused(
    versions: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    old, new, delta = versions
    bad = tmp_path / "delta.sqlite"
    bad.write_bytes(delta.read_bytes())
    with contextlib.closing(sqlite3.connect(bad)) as conn:
        face, vec = conn.execute("SELECT face_id, vector FROM embeddings LIMIT 1").fetchone()
        flipped = (-np.frombuffer(vec, dtype=np.float32)).tobytes()
        conn.execute("UPDATE embeddings SET vector = ? WHERE face_id = ?", (flipped, face))
        conn.commit()
    with pytest.raises(DatabaseError, match="differs from the signed content"):
        apply_incremental(old, bad, tmp_path / "out", EMBEDDERS, _digest(new), probe=50)


def test_a_tampered_base_index_is_refused(
    versions: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    from voyager import Index

    old, new, delta = versions
    base = tmp_path / "base"
    base.mkdir()
    for f in old.iterdir():
        (base / f.name).write_bytes(f.read_bytes())
    info = EMBEDDERS[0]
    index = Index.load(str(base / index_name(info.name)))
    victim = int(sorted(index.ids)[0])
    index.add_items(-np.asarray(index.get_vectors([victim])), [victim])
    index.save(str(base / index_name(info.name)))
    with pytest.raises(DatabaseError, match="not the database's"):
        apply_incremental(base, delta, tmp_path / "out", EMBEDDERS, _digest(new), probe=50)
