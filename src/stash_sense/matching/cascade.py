"""The identify cascade: SFace first; FaceNet only for the faces SFace alone cannot settle.

A face is *decisive* when its SFace top-1 distance is at most `max_distance` and the runner-up
performer is at least `min_margin` further away. Both thresholds were chosen on the development
set so that decisive top-1 matches are right at least as often as the "high" tier requires
(docs/matching.md); such a face keeps its SFace ranking, its top match is "high" and the others
"unlikely", and every match says `decided_by: ["sface"]`. Any other face is embedded by the rest
of the ensemble and ranked by the fused distance as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from stash_sense.matching.match import Match
from stash_sense.matching.matcher import Matcher

if TYPE_CHECKING:
    from stash_sense.faces import FaceEngine
    from stash_sense.faces.types import AnalyzedFace, ImageArray


@dataclass(frozen=True)
class Cascade:
    """When the first embedder alone decides a face (distances are its cosine distances)."""

    first: str = "sface"
    max_distance: float = 0.0
    min_margin: float = 0.0
    tier: str = "high"

    def decisive(self, matches: Sequence[Match]) -> bool:
        if not matches or matches[0].distance > self.max_distance:
            return False
        runner_up = matches[1].distance if len(matches) > 1 else 2.0
        return runner_up - matches[0].distance >= self.min_margin


#: Chosen on the lfw-dev queries (docs/matching.md, section 5).
DEFAULT_CASCADE = Cascade(first="sface", max_distance=0.55, min_margin=0.10)


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
            if cascade.decisive(first):
                results.append((face, _decided(first[:top], cascade.tier)))
            else:
                results.append(None)
                undecided.append(i)
        if undecided:
            rest = [n for n in self.matcher.embedder_names if n in self.engine.embedder_names]
            completed = self.engine.complete(image, [faces[i] for i in undecided], rest)
            for i, face in zip(undecided, completed, strict=True):
                results[i] = (face, self.matcher.match_face(face, top))
        return [r for r in results if r is not None]


def _decided(matches: list[Match], tier: str) -> list[Match]:
    return [replace(m, tier=tier if j == 0 else "unlikely") for j, m in enumerate(matches)]
