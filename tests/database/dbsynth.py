"""Synthetic faces (clustered random unit vectors) for database tests, without any model."""

from __future__ import annotations

import numpy as np

from stash_sense.database import DatabaseWriter, EmbedderInfo, PerformerRecord
from stash_sense.faces.types import AnalyzedFace, Box, DetectedFace, FaceQuality

EMBEDDERS = [EmbedderInfo("alpha", 32, "1.0", "a" * 64), EmbedderInfo("beta", 16, "2.0", "b" * 64)]
ENDPOINT = "https://stashdb.example/graphql"


def make_face(vectors: dict[str, np.ndarray], size: float = 100.0) -> AnalyzedFace:
    quality = FaceQuality(0.9, size, 120.0, 0.0, 0.0, 0.0, True)
    detected = DetectedFace(Box(10, 20, size, size * 1.2), 0.9, np.zeros((5, 2), np.float32))
    return AnalyzedFace(detected, quality, {k: v.astype(np.float32) for k, v in vectors.items()})


class Population:
    """Performers with a random centre per embedder; faces are noisy copies of the centre."""

    def __init__(self, n: int, seed: int = 0, noise: float = 0.25) -> None:
        self.rng = np.random.default_rng(seed)
        self.noise = noise
        self.centres = [{e.name: self.rng.normal(size=e.dim) for e in EMBEDDERS} for _ in range(n)]

    def face(self, i: int) -> AnalyzedFace:
        vectors = {}
        for name, c in self.centres[i].items():
            v = c / np.linalg.norm(c) + self.noise * self.rng.normal(size=c.shape) / np.sqrt(c.size)
            vectors[name] = v / np.linalg.norm(v)
        return make_face(vectors)


def fill(writer: DatabaseWriter, pop: Population, faces_each: int = 3, tag: str = "") -> list[int]:
    """One performer per centre (stash id `s<i>`), `faces_each` faces each; returns their ids."""
    ids = []
    with writer.transaction():
        for i in range(len(pop.centres)):
            rec = PerformerRecord(f"Performer {i}", stash_ids=[(ENDPOINT, f"s{i}")])
            pid = writer.upsert_performer(rec, "stashdb")
            ids.append(pid)
            for k in range(faces_each):
                writer.add_face(
                    pid, "stashdb", f"https://img.example/{tag}{i}/{k}.jpg", pop.face(i)
                )
    return ids
