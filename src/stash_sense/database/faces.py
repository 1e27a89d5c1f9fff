"""The writer's faces: a face and its vectors (normalised, one per embedder of the database), and
the images that gave no face for good (skips), so that no image is processed twice."""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np

from stash_sense.database.errors import DatabaseError
from stash_sense.database.records import EmbedderInfo
from stash_sense.database.staging import Staged
from stash_sense.faces.types import AnalyzedFace


class FaceWrites(Staged):
    """Face rows and skips of the staging database (a part of `DatabaseWriter`)."""

    embedders: list[EmbedderInfo]

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
        for name, dim in ((e.name, e.dim) for e in self.embedders):
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
        # skipped for good: no longer waiting for a retry in the builder's ledger
        self._conn.execute("DELETE FROM pending_images WHERE source_image = ?", (source_image,))

    def has_image(self, source_image: str) -> bool:
        """Whether this image was processed for good (a face stored or a permanent skip); an
        image waiting for a retry is not."""
        row = self._conn.execute(
            "SELECT EXISTS(SELECT 1 FROM faces WHERE source_image = ?) "
            "OR EXISTS(SELECT 1 FROM skipped_images WHERE source_image = ?)",
            (source_image, source_image),
        ).fetchone()
        return bool(row[0])
