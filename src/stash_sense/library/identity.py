"""Who a decision is about: a performer by stash ids (they outlive database updates, which may
renumber performers) and a face cluster by its representative vector.

A performer without any stash id is known by its database id and name, which hold only until the
face database changes; a rejection of one may then need repeating (docs/library.md).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from stash_sense.scenes.cluster import DEFAULT_THRESHOLD
from stash_sense.scenes.identify import Person

Vector = npt.NDArray[np.float32]
#: Cosine distance under which a rescan's face cluster is the cluster a rejection was made on:
#: the distance that makes two clusters of one scene one person (scenes/cluster.py).
SAME_CLUSTER = DEFAULT_THRESHOLD


@dataclass(frozen=True)
class PerformerRef:
    """A database performer as a decision names it."""

    performer_id: int | None
    name: str
    stash_ids: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_row(cls, performer_id: int | None, name: str | None, stash_ids: str) -> PerformerRef:
        pairs = tuple((str(s["endpoint"]), str(s["stash_id"])) for s in json.loads(stash_ids))
        return cls(performer_id, name or "", pairs)

    @classmethod
    def from_dicts(
        cls, performer_id: int | None, name: str, stash_ids: Iterable[dict[str, Any]]
    ) -> PerformerRef:
        pairs = tuple((str(s["endpoint"]), str(s["stash_id"])) for s in stash_ids)
        return cls(performer_id, name, pairs)

    def stash_ids_json(self) -> str:
        return json.dumps([{"endpoint": e, "stash_id": s} for e, s in self.stash_ids])

    def same_as(self, other: PerformerRef) -> bool:
        """One performer: a stash id in common, or (neither has one) the same id and name."""
        if self.stash_ids or other.stash_ids:
            return bool(set(self.stash_ids) & set(other.stash_ids))
        return self.performer_id == other.performer_id and self.name == other.name


@dataclass(frozen=True)
class PersonVector:
    """A face cluster's representative vector and the embedder that made it."""

    embedder: str
    vector: Vector


def person_vector(person: Person, embedder: str) -> Vector | None:
    """The person's representative vector for `embedder`: the mean of its faces' unit vectors,
    made unit again; None when no face has that embedder's vector."""
    vectors = [f.face.embeddings[embedder] for f in person.faces if embedder in f.face.embeddings]
    if not vectors:
        return None
    units = np.stack([np.asarray(v, np.float32) / max(float(np.linalg.norm(v)), 1e-12)
                      for v in vectors])  # fmt: skip
    mean = units.mean(axis=0)
    return (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)


def to_blob(vector: Vector | None) -> bytes | None:
    return None if vector is None else np.asarray(vector, np.float32).tobytes()


def from_blob(blob: bytes | None) -> Vector | None:
    return None if blob is None else np.frombuffer(blob, dtype=np.float32)


def same_cluster(a: Vector | None, b: Vector | None, threshold: float = SAME_CLUSTER) -> bool:
    """True when two representative vectors (of one embedder) are one face cluster."""
    if a is None or b is None or a.shape != b.shape:
        return False
    return 1.0 - float(a @ b) <= threshold
