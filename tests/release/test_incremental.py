"""A diff applied incrementally (SQLite patched, indices updated in place) gives the content of a
full canonical rebuild, and a tampered diff or base index is refused."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from relsynth import EMBEDDERS, Host, World, add_performer, change

from stash_sense.database import DatabaseError, DatabaseWriter
from stash_sense.database.canonical import export_canonical
from stash_sense.database.content import content_digest, index_digest, live_vectors
from stash_sense.database.diff import write_diff
from stash_sense.database.incremental import apply_incremental
from stash_sense.database.layout import SQLITE_NAME, current_generation, index_name
from stash_sense.database.manifest import Manifest
from stash_sense.database.publish import sha256_file
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


def test_a_large_database_takes_deltas_incrementally(
    world: World,
    host_for: Callable[..., Host],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Through `update`: the delta chain lands on the full release's content (a lower threshold
    stands in for a large database); a later update finds the installed generation as its base."""
    from stash_sense.release import ReleaseHost, incremental, trusted_keys, update

    monkeypatch.setattr(incremental, "INCREMENTAL_FACES", 0)
    keys = trusted_keys(world.keys_json)
    host = host_for(world.served)
    db, full = tmp_path / "db", tmp_path / "full"

    def install(root: Path, stage: int) -> dict[str, Any]:
        with ReleaseHost(f"{host.url}/stage{stage}/index.json") as h:
            return update(h, root, keys)

    assert install(db, 1)["method"] == "full"
    first = current_generation(db)
    assert first is not None
    before = _digest(first)
    assert install(db, 2)["method"] == "delta"
    # the second delta's base is the generation the first one installed incrementally
    assert install(db, 3)["method"] == "delta"
    install(full, 3)
    installed, published = current_generation(db), current_generation(full)
    assert installed is not None and published is not None
    assert _digest(installed) == _digest(published) != before
    # not the published bytes, but the same faces and vectors in every index
    assert sha256_file(installed / SQLITE_NAME) != sha256_file(published / SQLITE_NAME)
    from voyager import Index

    with contextlib.closing(connect_readonly(published / SQLITE_NAME)) as conn:
        for info in EMBEDDERS:
            ids, _ = live_vectors(conn, info)
            mine = Index.load(str(installed / index_name(info.name)))
            theirs = Index.load(str(published / index_name(info.name)))
            assert index_digest(mine, ids) == index_digest(theirs, ids)
    # the installed generation's own manifest lists its files: `db check` passes
    from stash_sense.release.completeness import check_database

    assert check_database(db) == []
