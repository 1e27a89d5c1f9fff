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
from stash_sense.database.incremental import apply_incremental, touched
from stash_sense.database.layout import SQLITE_NAME, current_generation, index_name
from stash_sense.database.manifest import Manifest
from stash_sense.database.publish import sha256_file
from stash_sense.database.schema import DDL, connect_readonly
from stash_sense.database.sethash import SetHash, part_hash, set_hash, updated


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


def _with_a_flipped_vector(delta: Path, bad: Path) -> Path:
    """A copy of the delta whose first stored vector is negated."""
    bad.write_bytes(delta.read_bytes())
    with contextlib.closing(sqlite3.connect(bad)) as conn:
        face, vec = conn.execute("SELECT face_id, vector FROM embeddings LIMIT 1").fetchone()
        flipped = (-np.frombuffer(vec, dtype=np.float32)).tobytes()
        conn.execute("UPDATE embeddings SET vector = ? WHERE face_id = ?", (flipped, face))
        conn.commit()
    return bad


def test_a_tampered_vector_in_the_delta_is_refused(
    versions: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    old, new, delta = versions
    bad = _with_a_flipped_vector(delta, tmp_path / "delta.sqlite")
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


# --- the incremental set hash (database/sethash.py): only what a delta touches is hashed ---


def _sets(old: Path, new: Path) -> tuple[str, str]:
    with (
        contextlib.closing(connect_readonly(old / SQLITE_NAME)) as a,
        contextlib.closing(connect_readonly(new / SQLITE_NAME)) as b,
    ):
        return set_hash(a).hex(), set_hash(b).hex()


def _copy(folder: Path, dest: Path) -> Path:
    dest.mkdir()
    for f in folder.iterdir():
        (dest / f.name).write_bytes(f.read_bytes())
    return dest


def test_the_set_hash_updated_by_a_delta_is_the_full_one(
    versions: tuple[Path, Path, Path],
) -> None:
    old, new, delta = versions
    with (
        contextlib.closing(connect_readonly(old / SQLITE_NAME)) as a,
        contextlib.closing(connect_readonly(new / SQLITE_NAME)) as b,
    ):
        performers, faces = touched(a, delta)
        assert performers and faces
        before, after = set_hash(a), set_hash(b)
        assert before != after
        assert updated(before, a, b, performers, faces) == after
        # the touched ids alone: leaving one out gives another hash
        assert updated(before, a, b, performers[1:], faces) != after


def test_the_set_hash_ignores_row_order(versions: tuple[Path, Path, Path], tmp_path: Path) -> None:
    """The same rows written in another order (another file, other rowids) hash alike."""
    _old, new, _delta = versions
    shuffled = tmp_path / SQLITE_NAME
    with (
        contextlib.closing(sqlite3.connect(new / SQLITE_NAME)) as src,
        contextlib.closing(sqlite3.connect(shuffled)) as out,
    ):
        out.executescript(DDL)
        # a performer's stash ids keep their stored order (readers list them so): that is content
        for table, order in (
            ("meta", "rowid DESC"),
            ("performers", "rowid DESC"),
            ("aliases", "random()"),
            ("stash_ids", "performer_id DESC, rowid"),
            ("image_urls", "random()"),
            ("external_urls", "random()"),
            ("faces", "random()"),
            ("embeddings", "random()"),
        ):
            rows = src.execute(f"SELECT * FROM {table} ORDER BY {order}").fetchall()
            if rows:
                marks = ",".join("?" * len(rows[0]))
                out.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
        out.commit()
    with contextlib.closing(connect_readonly(shuffled)) as conn:
        assert set_hash(conn).hex() == _sets(new, new)[0]


def test_removing_a_performer_removes_its_elements(
    versions: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    _old, new, _delta = versions
    smaller = tmp_path / SQLITE_NAME
    smaller.write_bytes((new / SQLITE_NAME).read_bytes())
    with contextlib.closing(sqlite3.connect(smaller)) as conn:
        pid = conn.execute("SELECT min(id) FROM performers").fetchone()[0]
        faces = [r[0] for r in conn.execute("SELECT id FROM faces WHERE performer_id = ?", (pid,))]
        conn.execute(
            "DELETE FROM embeddings WHERE face_id IN (SELECT id FROM faces WHERE performer_id = ?)",
            (pid,),
        )
        conn.execute("DELETE FROM faces WHERE performer_id = ?", (pid,))
        conn.execute("DELETE FROM aliases WHERE performer_id = ?", (pid,))
        conn.execute("DELETE FROM stash_ids WHERE performer_id = ?", (pid,))
        conn.execute("DELETE FROM performers WHERE id = ?", (pid,))
        conn.commit()
    with (
        contextlib.closing(connect_readonly(new / SQLITE_NAME)) as full,
        contextlib.closing(connect_readonly(smaller)) as less,
    ):
        whole = set_hash(full)
        gone = part_hash(full, [pid], faces)
        assert faces and gone != part_hash(less, [pid], faces)
        assert SetHash(whole.state - gone.state + part_hash(less, [pid], faces).state) == (
            set_hash(less)
        )
        assert set_hash(less) != whole


def test_incremental_by_set_hash_equals_full_rebuild(
    versions: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    old, new, delta = versions
    out = apply_incremental(
        old, delta, tmp_path / "out", EMBEDDERS, "", probe=50, sets=_sets(old, new)
    )
    assert _digest(out) == _digest(new)
    from voyager import Index

    with contextlib.closing(connect_readonly(new / SQLITE_NAME)) as conn:
        for info in EMBEDDERS:
            ids, _ = live_vectors(conn, info)
            full = Index.load(str(new / index_name(info.name)))
            patched = Index.load(str(out / index_name(info.name)))
            assert index_digest(patched, ids) == index_digest(full, ids)
            # exactly the live faces are alive: every other id is marked deleted
            alive = [i for i in patched.ids if _has(patched, int(i))]
            assert sorted(alive) == sorted(int(i) for i in ids)


def _has(index: Any, fid: int) -> bool:
    try:
        index.get_vector(fid)
    except RuntimeError:
        return False
    return True


def test_a_forged_row_in_the_delta_is_refused(
    versions: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    """A row the publisher did not sign, for a performer the delta does not otherwise touch."""
    old, new, delta = versions
    bad = tmp_path / "delta.sqlite"
    bad.write_bytes(delta.read_bytes())
    with contextlib.closing(connect_readonly(old / SQLITE_NAME)) as conn:
        victim = conn.execute("SELECT max(id) FROM performers").fetchone()[0]
    with contextlib.closing(sqlite3.connect(bad)) as conn:
        assert not conn.execute("SELECT 1 FROM performers WHERE id = ?", (victim,)).fetchone()
        conn.execute("INSERT INTO aliases VALUES (?, 'forged alias')", (victim,))
        conn.commit()
    sets = _sets(old, new)
    with pytest.raises(DatabaseError, match="differs from the signed content"):
        apply_incremental(old, bad, tmp_path / "out", EMBEDDERS, "", probe=50, sets=sets)


def test_a_tampered_vector_is_refused_by_the_set_hash(
    versions: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    old, new, delta = versions
    bad = _with_a_flipped_vector(delta, tmp_path / "delta.sqlite")
    sets = _sets(old, new)
    with pytest.raises(DatabaseError, match="differs from the signed content"):
        apply_incremental(old, bad, tmp_path / "out", EMBEDDERS, "", probe=50, sets=sets)


@pytest.mark.parametrize("target", ["index", "sqlite"])
def test_a_tampered_base_file_is_refused_before_the_set_hash(
    versions: tuple[Path, Path, Path], tmp_path: Path, target: str
) -> None:
    """An untouched row or vector of the base is not hashed again: the base's files are checked
    against the sha256 its generation recorded."""
    from voyager import Index

    old, new, delta = versions
    base = _copy(old, tmp_path / "base")
    if target == "index":
        name = index_name(EMBEDDERS[0].name)
        index = Index.load(str(base / name))
        victim = int(sorted(index.ids)[0])
        index.add_items(-np.asarray(index.get_vectors([victim])), [victim])
        index.save(str(base / name))
    else:
        with contextlib.closing(sqlite3.connect(base / SQLITE_NAME)) as conn:
            conn.execute("UPDATE performers SET name = 'someone else' WHERE id = 1")
            conn.commit()
    sets = _sets(old, new)
    with pytest.raises(DatabaseError, match="not the database's"):
        apply_incremental(base, delta, tmp_path / "out", EMBEDDERS, "", probe=50, sets=sets)


def test_a_set_hash_that_is_not_one_is_refused() -> None:
    with pytest.raises(DatabaseError, match="2,048 bytes"):
        SetHash.from_hex("00" * 16)
    with pytest.raises(DatabaseError, match="2,048 bytes"):
        SetHash.from_hex("not hex")
