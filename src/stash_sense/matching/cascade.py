"""The identify cascade: SFace first; FaceNet only for the faces SFace alone cannot settle.

Whether the first embedder's ranking settles a face is the tiers' call (`Tiers.decisive`,
matching/tiers.py): its evidence must reach "high" under the rule calibrated on that embedder's
distances alone. A decided face keeps its SFace ranking, its top match is "high" and the others
"unlikely", and every match says `decided_by: ["sface"]`. Any other face is embedded by the rest
of the ensemble and ranked by the fused distance.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from stash_sense.matching.match import Match
from stash_sense.matching.matcher import Matcher
from stash_sense.matching.tiers import evidence_for

if TYPE_CHECKING:
    from stash_sense.faces import FaceEngine
    from stash_sense.faces.types import AnalyzedFace, ImageArray


@dataclass(frozen=True)
class Cascade:
    """Which embedder runs first (its own fast ranking may settle a face)."""

    first: str = "sface"


DEFAULT_CASCADE = Cascade(first="sface")


class CascadeIdentifier:
    """Detect, embed and match every face of an image, skipping the slow embedders when it can."""

    def __init__(
        self, engine: FaceEngine, matcher: Matcher, cascade: Cascade | None = DEFAULT_CASCADE
    ) -> None:
        self.engine = engine
        self.matcher = matcher
        self.cascade = cascade
        self._first: Matcher | None = None
        if (
            cascade is not None
            and cascade.first in matcher.embedder_names
            and cascade.first in engine.embedder_names
            and len(matcher.embedder_names) > 1
        ):
            self._first = Matcher(
                matcher.db,
                [cascade.first],
                k=matcher.k,
                tiers=matcher.tiers,
                weights={cascade.first: 1.0},
            )

    @property
    def enabled(self) -> bool:
        return self._first is not None

    def decisive(self, first: list[Match]) -> bool:
        """Whether the first embedder's ranking alone settles the face (see the tiers)."""
        if not first:
            return False
        size = self._first.performers if self._first is not None else 0
        evidence = evidence_for([m.distance for m in first[:2]], max(size, len(first)))[0]
        return self.matcher.tiers.decisive(evidence)

    def identify(
        self, image: ImageArray, top: int = 5, max_faces: int | None = None
    ) -> list[tuple[AnalyzedFace, list[Match]]]:
        """Each face (largest first) with its `top` matches."""
        detected = self.engine.detect(image)
        if max_faces is not None:
            detected = detected[:max_faces]
        if self._first is None or self.cascade is None:
            faces = self.engine.embed(image, detected)
            return [(f, self.matcher.match_face(f, top)) for f in faces]
        cascade = self.cascade
        faces = self.engine.embed(image, detected, [cascade.first])
        results: list[tuple[AnalyzedFace, list[Match]] | None] = []
        undecided: list[int] = []
        for i, face in enumerate(faces):
            first = self._first.match_face(face, max(top, 2))
            if self.decisive(first):
                results.append((face, _decided(first[:top])))
            else:
                results.append(None)
                undecided.append(i)
        if undecided:
            rest = [n for n in self.matcher.embedder_names if n in self.engine.embedder_names]
            completed = self.engine.complete(image, [faces[i] for i in undecided], rest)
            for i, face in zip(undecided, completed, strict=True):
                results[i] = (face, self.matcher.match_face(face, top))
        return [r for r in results if r is not None]


def _decided(matches: list[Match]) -> list[Match]:
    return [replace(m, tier="high" if j == 0 else "unlikely") for j, m in enumerate(matches)]
