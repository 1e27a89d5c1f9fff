"""Synthetic performers for matching tests: clustered unit vectors in two embedder spaces."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from stash_sense.database import DatabaseWriter, EmbedderInfo, FaceDatabase, PerformerRecord
from stash_sense.faces.types import AnalyzedFace, Box, DetectedFace, FaceQuality

EMBEDDERS = [EmbedderInfo("alpha", 32, "1", "a" * 64), EmbedderInfo("beta", 16, "1", "b" * 64)]
ENDPOINT = "https://stashdb.example/graphql"


def unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v)).astype(np.float32)


def face_of(vectors: dict[str, np.ndarray]) -> AnalyzedFace:
    quality = FaceQuality(0.9, 100.0, 100.0, 0.0, 0.0, 0.0, True)
    detected = DetectedFace(Box(0, 0, 100, 120), 0.9, np.zeros((5, 2), np.float32))
    return AnalyzedFace(detected, quality, {k: unit(v) for k, v in vectors.items()})


class World:
    """`n` performers; `face(i, noise)` is a noisy photo of performer i."""

    def __init__(self, n: int, seed: int = 1) -> None:
        self.rng = np.random.default_rng(seed)
        self.centres = [
            {e.name: unit(self.rng.normal(size=e.dim)) for e in EMBEDDERS} for _ in range(n)
        ]

    def face(self, i: int, noise: float = 0.3) -> AnalyzedFace:
        return face_of(
            {
                name: c + noise * self.rng.normal(size=c.size) / np.sqrt(c.size)
                for name, c in self.centres[i].items()
            }
        )

    def stranger(self) -> AnalyzedFace:
        return face_of({e.name: self.rng.normal(size=e.dim) for e in EMBEDDERS})

    def build(self, root: Path, faces_each: int = 3) -> FaceDatabase:
        with DatabaseWriter.open(root, EMBEDDERS) as w:
            with w.transaction():
                for i in range(len(self.centres)):
                    rec = PerformerRecord(
                        f"P{i}",
                        aliases=[f"alias{i}"],
                        stash_ids=[(ENDPOINT, f"id{i}")],
                        image_urls=[f"https://img/{i}.jpg"],
                    )
                    pid = w.upsert_performer(rec, "stashdb")
                    for k in range(faces_each):
                        w.add_face(pid, "stashdb", f"{i}/{k}", self.face(i))
            w.publish()
        return FaceDatabase.open(root)
