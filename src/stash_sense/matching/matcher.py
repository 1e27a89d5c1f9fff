"""`Matcher`: who in the database a face, or several faces of one person, belongs to."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from stash_sense.database import DatabaseError, FaceDatabase
from stash_sense.faces.types import AnalyzedFace
from stash_sense.matching.fusion import (
    aggregate,
    best_per_performer,
    candidates,
    exact_distances,
    fuse,
    normalise,
)
from stash_sense.matching.match import Match
from stash_sense.matching.tiers import Tiers, evidence_for

DEFAULT_K = 50


class Matcher:
    """Top-k search in every embedder's index, exact fused distances, one ranking per performer."""

    def __init__(
        self,
        db: FaceDatabase,
        embedder_names: Sequence[str] | None = None,
        k: int = DEFAULT_K,
        tiers: Tiers | None = None,
        weights: dict[str, float] | None = None,
    ) -> None:
        names = list(embedder_names) if embedder_names is not None else list(db.embedder_names)
        unknown = [n for n in names if n not in db.manifest.models]
        if unknown:
            raise DatabaseError(
                f"the database has no {', '.join(unknown)} vectors "
                f"(it has {', '.join(db.manifest.models)})"
            )
        if not names:
            raise DatabaseError("no embedder shared with the database")
        self.db = db
        self.embedder_names = names
        self.k = k
        self.tiers = tiers or Tiers.from_dict(db.manifest.tiers)
        self.weights = weights or db.manifest.fusion
        #: the database size the tiers are decided at
        self.performers = int(db.manifest.counts.get("performers") or 0)

    def match_face(self, face: AnalyzedFace, top: int = 5) -> list[Match]:
        """The `top` performers closest to one face, closest first."""
        return self.match_faces([face], top)

    def match_faces(self, faces: Sequence[AnalyzedFace], top: int = 5) -> list[Match]:
        """The `top` performers closest to several faces of one person, closest first."""
        if not faces:
            return []
        queries = {}
        for name in self.embedder_names:
            missing = [i for i, f in enumerate(faces) if name not in f.embeddings]
            if missing:
                raise DatabaseError(f"query face has no {name} vector")
            queries[name] = normalise([f.embeddings[name] for f in faces])
        found: set[int] = set()
        for name in self.embedder_names:
            found |= candidates(self.db.index(name), queries[name], self.k)
        if not found:
            return []
        face_ids = sorted(found)
        per_embedder = {
            name: exact_distances(self.db.index(name), queries[name], face_ids)
            for name in self.embedder_names
        }
        fused = fuse(per_embedder, self.weights)
        owner = self.db.face_performers(face_ids)
        keep = [i for i, fid in enumerate(face_ids) if fid in owner]
        face_ids = [face_ids[i] for i in keep]
        fused = fused[:, keep]
        per_embedder = {n: d[:, keep] for n, d in per_embedder.items()}
        performers, best, best_face = best_per_performer(fused, [owner[f] for f in face_ids])
        score = aggregate(best)
        order = np.argsort(score, kind="stable")
        chosen = [int(j) for j in order if np.isfinite(score[j])]
        details = self.db.performers(performers[j] for j in chosen[: top * 2])
        live = [
            j for j in chosen if (i := details.get(performers[j])) is not None and not i.deleted
        ]
        evidence = evidence_for([float(score[j]) for j in live[: top + 1]], self._size(len(chosen)))
        # a performer's faces agree with a query face when it is that face's nearest performer
        nearest = np.argmin(best, axis=1)
        matches: list[Match] = []
        for rank, j in enumerate(live):
            info = details[performers[j]]
            q_best = int(np.argmin(best[:, j]))
            i_best = int(best_face[q_best, j])
            distance = float(score[j])
            matches.append(
                Match(
                    performer_id=info.id,
                    name=info.name,
                    disambiguation=info.disambiguation,
                    distance=distance,
                    tier=self.tiers.tier(evidence[rank]),
                    stash_ids=info.stash_ids,
                    aliases=info.aliases,
                    image_url=info.image_url,
                    gender=info.gender,
                    country=info.country,
                    faces_matched=int((nearest == j).sum()),
                    distances={n: float(d[q_best, i_best]) for n, d in per_embedder.items()},
                    decided_by=list(self.embedder_names),
                )
            )
            if len(matches) >= top:
                break
        return matches

    def _size(self, candidates: int) -> int:
        """The database size for tiers: the manifest's count (at least the performers seen)."""
        return max(self.performers, candidates)
