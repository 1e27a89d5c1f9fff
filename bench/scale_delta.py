"""A 1% delta applied to the scale database, incrementally (`database.incremental`): the SQLite
file patched, both indices updated in place, the result checked against the signed set hash
(only what the delta touches is hashed) and, in the same run, the previous way (the whole
content digest and every index entry) for comparison.

The change, made through the product's DatabaseWriter on a copy of the installed generation:
0.5% of the performers removed (their rows dropped, as a canonical export drops a performer
deleted upstream; their faces leave the indices), as many new ones with
the same number of faces per performer on average, and 1% renamed. The publisher's side (the
diff, the digests to sign) is timed apart from the user's side.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.scale_world import DIM, EMBEDDERS, ENDPOINT, FaceModel, engine_infos
from stash_sense.database import DatabaseWriter, PerformerRecord
from stash_sense.database.canonical import export_canonical
from stash_sense.database.content import content_digest
from stash_sense.database.diff import apply_diff, write_diff
from stash_sense.database.incremental import apply_incremental
from stash_sense.database.layout import SQLITE_NAME, STAGING, current_generation
from stash_sense.database.manifest import MANIFEST_NAME
from stash_sense.database.schema import connect_readonly
from stash_sense.database.sethash import set_hash
from stash_sense.net.digest import sha256_file

SHARE = 0.01


def measure(
    db: Path, model: FaceModel, work: Path, compare_canonical: bool = False
) -> dict[str, Any]:
    """Make a 1% change of `db`'s current generation, diff it, apply it incrementally (timed);
    `compare_canonical`: also time today's canonical rebuild of the same delta."""
    gen = current_generation(db)
    assert gen is not None
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    root = work / "publisher"
    root.mkdir()
    (root / STAGING).mkdir()
    shutil.copyfile(gen / SQLITE_NAME, root / STAGING / SQLITE_NAME)
    rng = np.random.default_rng(99)
    with DatabaseWriter.open(root, engine_infos()) as w:
        ids = [int(r[0]) for r in w._conn.execute("SELECT id FROM performers WHERE deleted = 0")]
        n = len(ids)
        faces_before = w.counts()["faces"]
        picked = rng.permutation(ids)
        removed, renamed = picked[: int(n * SHARE / 2)], picked[-int(n * SHARE) :]
        with w.transaction():
            for pid in removed:
                # as a canonical export leaves them out: the diff compares whole tables
                w._conn.execute(
                    "DELETE FROM embeddings WHERE face_id IN "
                    "(SELECT id FROM faces WHERE performer_id = ?)",
                    (int(pid),),
                )
                for table in ("faces", "aliases", "stash_ids", "image_urls", "external_urls"):
                    w._conn.execute(f"DELETE FROM {table} WHERE performer_id = ?", (int(pid),))
                w._conn.execute("DELETE FROM performers WHERE id = ?", (int(pid),))
            for pid in renamed:
                w._conn.execute(
                    "UPDATE performers SET name = name || ' (renamed)' WHERE id = ?", (int(pid),)
                )
            per = 1 + rng.poisson(faces_before / n - 1, len(removed))
            centres = model.performers(rng, len(removed))
            faces = model.faces(rng, np.repeat(centres, per, axis=0))
            at = 0
            for i, count in enumerate(per):
                rec = PerformerRecord(f"New Performer {i}", stash_ids=[(ENDPOINT, f"new-{i}")])
                pid = w.upsert_performer(rec, "stashdb", by_name=False)
                for k in range(int(count)):
                    v = faces[at]
                    at += 1
                    halves = {
                        e: v[j * DIM : (j + 1) * DIM].tobytes() for j, e in enumerate(EMBEDDERS)
                    }
                    box = (0.0, 0.0, 100.0, 100.0)
                    w.add_face_vectors(pid, "stashdb", f"new:{i}#{k}", 0, box, 0.99, "{}", halves)
        after = w.counts()
    new_sqlite = root / STAGING / SQLITE_NAME
    t0 = time.perf_counter()
    changes = write_diff(gen / SQLITE_NAME, new_sqlite, work / "delta.sqlite")
    with contextlib.closing(connect_readonly(new_sqlite)) as conn:
        signed = content_digest(conn)
    publisher_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    with (
        contextlib.closing(connect_readonly(gen / SQLITE_NAME)) as old,
        contextlib.closing(connect_readonly(new_sqlite)) as new,
    ):
        sets = (set_hash(old).hex(), set_hash(new).hex())
    publisher_set_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    sha256_file(gen / SQLITE_NAME)  # a later delta's base: the file, then the recorded set hash
    base_check_s = time.perf_counter() - t0
    infos = engine_infos()
    t0, c0 = time.perf_counter(), time.process_time()
    apply_incremental(gen, work / "delta.sqlite", work / "installed", infos, "", sets=sets)
    apply_s, apply_cpu = time.perf_counter() - t0, time.process_time() - c0
    shutil.rmtree(work / "installed")
    t0, c0 = time.perf_counter(), time.process_time()
    apply_incremental(gen, work / "delta.sqlite", work / "installed", infos, signed)
    whole_s, whole_cpu = time.perf_counter() - t0, time.process_time() - c0
    canonical_s = None
    if compare_canonical:
        # today's path for the same delta: apply, then rebuild every file canonically
        t0 = time.perf_counter()
        applied = apply_diff(gen / SQLITE_NAME, work / "delta.sqlite", work / "applied.sqlite")
        database = json.loads((gen / MANIFEST_NAME).read_text())
        export_canonical(applied, work / "canonical", database)
        canonical_s = round(time.perf_counter() - t0, 1)
    size = (work / "delta.sqlite").stat().st_size
    shutil.rmtree(work, ignore_errors=True)
    return {
        "faces_before": faces_before,
        "faces_after": after["faces"],
        "changes": changes,
        "delta_mb": round(size / 2**20, 1),
        "publisher_diff_and_digest_s": round(publisher_s, 1),
        "publisher_set_hashes_s": round(publisher_set_s, 1),
        "apply_and_verify_by_set_hash_s": round(apply_s, 1),
        "apply_and_verify_by_set_hash_cpu_s": round(apply_cpu, 1),
        "apply_and_verify_whole_content_s": round(whole_s, 1),
        "apply_and_verify_whole_content_cpu_s": round(whole_cpu, 1),
        "base_check_by_file_sha256_s": round(base_check_s, 1),
        "canonical_rebuild_s": canonical_s,
    }
