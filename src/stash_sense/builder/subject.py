"""Which face of each profile image is the performer: the images of one performer settled
together by the rule `build` shares with `db enroll` (stash_sense.faces.subject)."""

from __future__ import annotations

from collections.abc import Sequence

from stash_sense.builder.images import ImageOutcome
from stash_sense.faces.subject import choose_subjects
from stash_sense.faces.types import AnalyzedFace


def settle(
    outcomes: Sequence[ImageOutcome], references: Sequence[AnalyzedFace] = ()
) -> list[ImageOutcome]:
    """The outcomes with each analysed image's subject chosen (its face, or the skip reason),
    by agreement with the performer's other images and `references`, then by prominence."""
    analysed = [(o, c) for o in outcomes if (c := o.candidates) is not None]
    choices = choose_subjects([c for _, c in analysed], references)
    for (outcome, _), choice in zip(analysed, choices, strict=True):
        outcome.face, outcome.skip_reason, outcome.candidates = choice.face, choice.reason, None
    return list(outcomes)
