"""The single writer of a database folder: stages performers and faces in SQLite, then publishes.

Everything goes into `DB/staging/faces.sqlite` (WAL mode, kept between runs so builds resume);
`publish()` turns the staging state into a new read-only generation and swaps `current` to it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from stash_sense.database.calibrated import initial_fusion, initial_tiers
from stash_sense.database.errors import DatabaseError
from stash_sense.database.layout import SQLITE_NAME, STAGING, current_generation
from stash_sense.database.manifest import Manifest, check_models
from stash_sense.database.records import EmbedderInfo, PerformerRecord
from stash_sense.database.schema import connect_readonly, connect_writable, get_meta, set_meta
from stash_sense.faces.types import AnalyzedFace

_NOW = "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')"


class DatabaseWriter:
    """Stage changes to a database folder and publish them as a new generation.

    One writer per folder at a time (an exclusive lock on `staging/.lock`); methods called
    outside `transaction()` commit on their own.
    """

    def __init__(
        self, root: Path, conn: sqlite3.Connection, embedders: Sequence[EmbedderInfo], lock: IO[str]
    ) -> None:
        self.root = root
        self.embedders = list(embedders)
        self._conn = conn
        self._lock = lock
        self._dims = {e.name: e.dim for e in self.embedders}

    # --- opening -----------------------------------------------------------------------------

    @classmethod
    def open(cls, db_root: Path, embedders: Sequence[EmbedderInfo]) -> DatabaseWriter:
        """Open or create `db_root/staging/faces.sqlite` for these embedders.

        A new staging area starts from the current generation when there is one. Staging or a
        generation made with other models (or another schema version) is refused.
        """
        if not embedders:
            raise DatabaseError("a database needs at least one embedder")
        db_root = Path(db_root)
        if db_root.exists() and not db_root.is_dir():
            raise DatabaseError(f"{db_root} is not a folder")
        if (db_root / "manifest.json").exists() and not (db_root / STAGING).exists():
            raise DatabaseError(
                f"{db_root} is a single published generation, not a database folder: "
                "copy it into a new folder's first generation or pass a database folder"
            )
        staging = db_root / STAGING
        try:
            staging.mkdir(parents=True, exist_ok=True)
            lock = (staging / ".lock").open("w")
        except OSError as err:
            raise DatabaseError(f"cannot write to {db_root}: {err.strerror or err}") from None
        if not os.access(staging, os.W_OK) or not os.access(db_root, os.W_OK):
            lock.close()
            raise DatabaseError(f"cannot write to {db_root}: permission denied")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            raise DatabaseError(f"{db_root} is being written by another process") from None
        try:
            path = staging / SQLITE_NAME
            if not path.exists():
                _seed_from_current(db_root, path, embedders)
            conn = connect_writable(path)
            _check_staging_models(conn, path, embedders)
        except BaseException:
            lock.close()
            raise
        return cls(db_root, conn, embedders, lock)

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._conn.close()
        self._lock.close()

    def __enter__(self) -> DatabaseWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- transactions ------------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[DatabaseWriter]:
        """One SQLite transaction around the block: all of it is stored, or none of it."""
        if self._conn.in_transaction:
            yield self
            return
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    # --- performers --------------------------------------------------------------------------

    def find_performer(self, rec: PerformerRecord, by_name: bool = True) -> int | None:
        """The stored performer this record describes: by any stash id, else by name alone.

        The name is used only for a record without stash ids, and only when `by_name`.
        """
        for endpoint, stash_id in rec.stash_ids:
            row = self._conn.execute(
                "SELECT performer_id FROM stash_ids WHERE endpoint = ? AND stash_id = ?",
                (endpoint, stash_id),
            ).fetchone()
            if row is not None:
                return int(row[0])
        if rec.stash_ids or not by_name:
            return None
        row = self._conn.execute(
            "SELECT id FROM performers p WHERE name = ? AND disambiguation IS ? AND NOT EXISTS "
            "(SELECT 1 FROM stash_ids s WHERE s.performer_id = p.id) ORDER BY id LIMIT 1",
            (rec.name, rec.disambiguation),
        ).fetchone()
        return None if row is None else int(row[0])

    def upsert_performer(
        self,
        rec: PerformerRecord,
        source: str,
        *,
        into: int | None = None,
        by_name: bool = True,
    ) -> int:
        """Insert or update a performer and return its id; lists (aliases, ids, urls) only grow.

        `into` names the stored performer to update instead of looking one up; `by_name=False`
        never links a record without stash ids to a namesake (merging sources).
        """
        if not rec.name.strip():
            raise DatabaseError("a performer needs a name")
        with self.transaction():
            pid = into if into is not None else self.find_performer(rec, by_name)
            primary = rec.primary_source or source
            if pid is None:
                cur = self._conn.execute(
                    "INSERT INTO performers(name, disambiguation, gender, country, birthdate, "
                    "primary_source, deleted) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        rec.name,
                        rec.disambiguation,
                        rec.gender,
                        rec.country,
                        rec.birthdate,
                        primary,
                        int(rec.deleted),
                    ),
                )
                pid = int(cur.lastrowid or 0)
            else:
                self._conn.execute(
                    "UPDATE performers SET name = ?, disambiguation = coalesce(?, disambiguation), "
                    "gender = coalesce(?, gender), country = coalesce(?, country), "
                    "birthdate = coalesce(?, birthdate), "
                    "primary_source = coalesce(primary_source, ?), deleted = ?, "
                    f"updated_at = {_NOW} WHERE id = ?",
                    (
                        rec.name,
                        rec.disambiguation,
                        rec.gender,
                        rec.country,
                        rec.birthdate,
                        primary,
                        int(rec.deleted),
                        pid,
                    ),
                )
            self._conn.executemany(
                "INSERT OR IGNORE INTO aliases(performer_id, alias) VALUES (?, ?)",
                [(pid, a) for a in rec.aliases if a and a != rec.name],
            )
            self._conn.executemany(
                "INSERT OR IGNORE INTO stash_ids(performer_id, endpoint, stash_id) "
                "VALUES (?, ?, ?)",
                [(pid, ep, sid) for ep, sid in rec.stash_ids],
            )
            self._conn.executemany(
                "INSERT OR IGNORE INTO image_urls(performer_id, url, position) VALUES (?, ?, ?)",
                [(pid, url, i) for i, url in enumerate(rec.image_urls)],
            )
            self._conn.executemany(
                "INSERT OR IGNORE INTO external_urls(performer_id, url, site) VALUES (?, ?, ?)",
                [(pid, url, site) for url, site in rec.urls],
            )
        return pid

    def mark_deleted(self, endpoint: str, stash_id: str) -> bool:
        """The source deleted this performer: keep the row, leave it out of the next indices, and
        forget its images still waiting for a retry. True when a live performer was marked."""
        pid = self._performer_of(endpoint, stash_id)
        if pid is None:
            return False
        with self.transaction():
            cur = self._conn.execute(
                f"UPDATE performers SET deleted = 1, updated_at = {_NOW} "
                "WHERE id = ? AND deleted = 0",
                (pid,),
            )
            self._conn.execute("DELETE FROM pending_images WHERE performer_id = ?", (pid,))
        return cur.rowcount > 0

    def merge_into(self, endpoint: str, old_stash_id: str, survivor: int) -> bool:
        """The source merged `old` into the stored performer `survivor`.

        The old id stays searchable, mapped to the survivor (scenes in users' Stash may still
        carry it). A stored performer under the old id is folded in: its other stash ids move
        over; its faces, skips and retries go, as stash-box drops a merged performer's images.
        True when such a performer was folded in.
        """
        with self.transaction():
            old = self._performer_of(endpoint, old_stash_id)
            folded = old is not None and old != survivor
            if folded:
                for table in ("faces", "skipped_images", "pending_images"):
                    self._conn.execute(f"DELETE FROM {table} WHERE performer_id = ?", (old,))
                for table in ("stash_ids", "merged_stash_ids"):
                    self._conn.execute(
                        f"UPDATE OR IGNORE {table} SET performer_id = ? WHERE performer_id = ?",
                        (survivor, old),
                    )
                self._conn.execute("DELETE FROM performers WHERE id = ?", (old,))
            self._conn.execute(
                "INSERT OR IGNORE INTO stash_ids(performer_id, endpoint, stash_id) "
                "VALUES (?, ?, ?)",
                (survivor, endpoint, old_stash_id),
            )
            self._conn.execute(
                "INSERT OR REPLACE INTO merged_stash_ids(endpoint, stash_id, performer_id) "
                "VALUES (?, ?, ?)",
                (endpoint, old_stash_id, survivor),
            )
        return folded

    def stored_stash_ids(self, endpoint: str) -> set[str]:
        """The endpoint's ids of live performers, merged-away ids left out."""
        rows = self._conn.execute(
            "SELECT s.stash_id FROM stash_ids s JOIN performers p ON p.id = s.performer_id "
            "WHERE s.endpoint = ? AND p.deleted = 0 AND NOT EXISTS (SELECT 1 FROM "
            "merged_stash_ids m WHERE m.endpoint = s.endpoint AND m.stash_id = s.stash_id)",
            (endpoint,),
        )
        return {str(r[0]) for r in rows}

    def performer_of_image(self, source_image: str) -> int | None:
        """The performer owning a stored face of this image, if any."""
        row = self._conn.execute(
            "SELECT performer_id FROM faces WHERE source_image = ? ORDER BY id LIMIT 1",
            (source_image,),
        ).fetchone()
        return None if row is None else int(row[0])

    def _performer_of(self, endpoint: str, stash_id: str) -> int | None:
        row = self._conn.execute(
            "SELECT performer_id FROM stash_ids WHERE endpoint = ? AND stash_id = ?",
            (endpoint, stash_id),
        ).fetchone()
        return None if row is None else int(row[0])

    # --- faces -------------------------------------------------------------------------------

    def add_face(
        self,
        performer_id: int,
        source: str,
        source_image: str,
        face: AnalyzedFace,
        face_index: int = 0,
    ) -> int | None:
        """Store a face and its vectors; None when (source_image, face_index) is already stored."""
        vectors = self._vectors_of(face)
        box = face.box
        return self.add_face_vectors(
            performer_id,
            source,
            source_image,
            face_index,
            (float(box.x), float(box.y), float(box.w), float(box.h)),
            float(face.score),
            json.dumps(face.quality.as_dict()),
            {name: vec.tobytes() for name, vec in vectors.items()},
        )

    def add_face_vectors(
        self,
        performer_id: int,
        source: str,
        source_image: str,
        face_index: int,
        box: Sequence[float],
        detection_score: float,
        quality_json: str,
        vectors: dict[str, bytes],
    ) -> int | None:
        """Store a face copied from another database (no re-embedding); None when already stored."""
        missing = [e.name for e in self.embedders if e.name not in vectors]
        if missing:
            raise DatabaseError(f"face {source_image} lacks vectors for {', '.join(missing)}")
        with self.transaction():
            cur = self._conn.execute(
                "INSERT OR IGNORE INTO faces(performer_id, source, source_image, face_index, "
                "box_x, box_y, box_w, box_h, detection_score, quality) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    performer_id,
                    source,
                    source_image,
                    face_index,
                    *box,
                    detection_score,
                    quality_json,
                ),
            )
            if cur.rowcount == 0:
                return None
            face_id = int(cur.lastrowid or 0)
            self._conn.executemany(
                "INSERT INTO embeddings(face_id, embedder, vector) VALUES (?, ?, ?)",
                [(face_id, e.name, vectors[e.name]) for e in self.embedders],
            )
        return face_id

    def _vectors_of(self, face: AnalyzedFace) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for name, dim in self._dims.items():
            vec = face.embeddings.get(name)
            if vec is None:
                raise DatabaseError(
                    f"face has no {name} vector; this database needs every embedder"
                )
            arr = np.asarray(vec, dtype=np.float32).reshape(-1)
            norm = float(np.linalg.norm(arr))
            if arr.shape[0] != dim or not np.isfinite(norm) or norm == 0.0:
                raise DatabaseError(f"bad {name} vector: shape {arr.shape}, norm {norm}")
            out[name] = (arr / norm).astype(np.float32)
        return out

    def record_skip(
        self, source: str, source_image: str, performer_id: int | None, reason: str
    ) -> None:
        """Remember an image that gave no face for good, so later runs do not fetch it again."""
        self._conn.execute(
            "INSERT OR REPLACE INTO skipped_images(source_image, source, performer_id, reason) "
            "VALUES (?, ?, ?, ?)",
            (source_image, source, performer_id, reason),
        )
        self.clear_pending(source_image)

    def has_image(self, source_image: str) -> bool:
        """Whether this image was processed for good (a face stored or a permanent skip); an
        image waiting for a retry is not."""
        row = self._conn.execute(
            "SELECT EXISTS(SELECT 1 FROM faces WHERE source_image = ?) "
            "OR EXISTS(SELECT 1 FROM skipped_images WHERE source_image = ?)",
            (source_image, source_image),
        ).fetchone()
        return bool(row[0])

    # --- the ledger of images to try again ---------------------------------------------------

    def record_pending(
        self, source: str, source_image: str, performer_id: int, reason: str, run: str
    ) -> int:
        """An image failed for now (5xx, timeout, reset, 429): try it again later. Returns in
        how many distinct runs it has failed so far."""
        self._conn.execute(
            "INSERT INTO pending_images(source_image, source, performer_id, reason, tries, runs, "
            "last_run) VALUES (?, ?, ?, ?, 1, 1, ?) ON CONFLICT(source_image) DO UPDATE SET "
            "reason = excluded.reason, performer_id = excluded.performer_id, tries = tries + 1, "
            "runs = runs + (last_run IS NOT excluded.last_run), last_run = excluded.last_run",
            (source_image, source, performer_id, reason, run),
        )
        row = self._conn.execute(
            "SELECT runs FROM pending_images WHERE source_image = ?", (source_image,)
        ).fetchone()
        return int(row[0])

    def clear_pending(self, source_image: str) -> None:
        self._conn.execute("DELETE FROM pending_images WHERE source_image = ?", (source_image,))

    def pending_images(self, source: str) -> list[tuple[str, int]]:
        """(image, performer id) of the source's images waiting for a retry."""
        rows = self._conn.execute(
            "SELECT source_image, performer_id FROM pending_images WHERE source = ? "
            "AND performer_id IS NOT NULL ORDER BY rowid",
            (source,),
        )
        return [(str(url), int(pid)) for url, pid in rows]

    def source_stats(self, source: str, endpoint: str) -> dict[str, Any]:
        """What the database holds from one source, counted from the rows themselves (so a
        build killed and resumed reports exactly what a clean build reports)."""

        def one(sql: str, *args: str) -> int:
            return int(self._conn.execute(sql, args).fetchone()[0])

        live_faces = (
            "FROM faces f JOIN performers p ON p.id = f.performer_id "
            "WHERE f.source = ? AND p.deleted = 0"
        )
        performers = one(
            "SELECT count(DISTINCT p.id) FROM performers p JOIN stash_ids s "
            "ON s.performer_id = p.id WHERE s.endpoint = ? AND p.deleted = 0",
            endpoint,
        )
        with_faces = one(f"SELECT count(DISTINCT f.performer_id) {live_faces}", source)
        faces = one(f"SELECT count(*) {live_faces}", source)
        skipped = {
            str(reason): int(n)
            for reason, n in self._conn.execute(
                "SELECT reason, count(*) FROM skipped_images WHERE source = ? GROUP BY reason "
                "ORDER BY reason",
                (source,),
            )
        }
        return {
            "performers_seen": performers,
            "with_faces": with_faces,
            "faces": faces,
            "faces_per_performer": round(faces / with_faces, 3) if with_faces else 0.0,
            "images_seen": one("SELECT count(*) FROM faces WHERE source = ?", source)
            + sum(skipped.values()),
            "deleted": one(
                "SELECT count(DISTINCT p.id) FROM performers p JOIN stash_ids s "
                "ON s.performer_id = p.id WHERE s.endpoint = ? AND p.deleted = 1",
                endpoint,
            ),
            "merged": one("SELECT count(*) FROM merged_stash_ids WHERE endpoint = ?", endpoint),
            "pending": one("SELECT count(*) FROM pending_images WHERE source = ?", source),
            "skipped": skipped,
        }

    # --- state -------------------------------------------------------------------------------

    def set_state(self, key: str, value: str) -> None:
        self._conn.execute(
            "INSERT INTO state(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def get_state(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def counts(self) -> dict[str, int]:
        """What staging holds now (performers not deleted, their faces, stash ids)."""
        from stash_sense.database.publish import count_rows

        return count_rows(self._conn)

    # --- publishing --------------------------------------------------------------------------

    def publish(
        self, source_stats: dict[str, Any] | None = None, tiers: Mapping[str, Any] | None = None
    ) -> Path:
        """Publish staging as a new generation and point `current` at it; returns its folder.

        `tiers` (e.g. from calibration) and `source_stats` are remembered in staging, so later
        publishes keep them.
        """
        from stash_sense.database.publish import publish_generation, source_summary

        if self._conn.in_transaction:
            raise DatabaseError("publish() inside a transaction: commit first")
        if tiers is not None:
            set_meta(self._conn, "tiers", json.dumps(dict(tiers)))
        stored = json.loads(get_meta(self._conn, "source_stats") or "{}")
        for source, stats in (source_stats or {}).items():
            stored.setdefault(source, {}).update(stats)
        set_meta(self._conn, "source_stats", json.dumps(stored))
        tiers_json = get_meta(self._conn, "tiers")
        use_tiers = json.loads(tiers_json) if tiers_json else initial_tiers(self.embedders)
        fusion_json = get_meta(self._conn, "fusion")
        fusion = json.loads(fusion_json) if fusion_json else initial_fusion(self.embedders)
        sources = source_summary(self._conn, stored)
        return publish_generation(self.root, self._conn, self.embedders, fusion, use_tiers, sources)


def _seed_from_current(root: Path, path: Path, embedders: Sequence[EmbedderInfo]) -> None:
    """Start a missing staging database as a copy of the current generation's SQLite."""
    gen = current_generation(root) if root.exists() else None
    if gen is None:
        return
    manifest = Manifest.read(gen)
    _require_same_models(manifest.models, embedders, str(gen))
    src = connect_readonly(gen / SQLITE_NAME)
    tmp = path.with_suffix(".seed")
    tmp.unlink(missing_ok=True)
    dst = sqlite3.connect(tmp)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=WAL")
        set_meta(
            dst, "models", json.dumps({k: v.as_manifest() for k, v in manifest.models.items()})
        )
        set_meta(dst, "tiers", json.dumps(manifest.tiers))
        set_meta(dst, "fusion", json.dumps(manifest.fusion))
        set_meta(dst, "source_stats", json.dumps(manifest.sources))
        dst.commit()
    finally:
        dst.close()
        src.close()
    os.replace(tmp, path)


def _require_same_models(
    have: dict[str, EmbedderInfo], embedders: Sequence[EmbedderInfo], where: str
) -> None:
    check_models(have, embedders, where)
    if set(have) != {e.name for e in embedders}:
        raise DatabaseError(
            f"{where} was made with {', '.join(sorted(have))}; this writer has "
            f"{', '.join(e.name for e in embedders)}: every face needs the same embedders"
        )


def _check_staging_models(
    conn: sqlite3.Connection, path: Path, embedders: Sequence[EmbedderInfo]
) -> None:
    stored = get_meta(conn, "models")
    if stored is None:
        set_meta(conn, "models", json.dumps({e.name: e.as_manifest() for e in embedders}))
        return
    have = {
        name: EmbedderInfo.from_manifest(name, entry) for name, entry in json.loads(stored).items()
    }
    try:
        _require_same_models(have, embedders, str(path))
    except DatabaseError:
        conn.close()
        raise
