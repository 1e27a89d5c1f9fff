"""Which face of a performer's image is the performer: the one rule `build` and `db enroll` share.

An image's candidates are its faces that may stand for a performer (`quality.enrollable`). One
candidate is the subject. Among several, the subject is, in this order:

1. the face that agrees with the performer's other faces (its other images' subjects, faces
   stored for it before, from this source or another): the candidate nearest to them on the
   first embedder they share, when it is near enough (cosine >= `agree_floor`) and clearly
   nearer than the runner-up (by `agree_margin`);
2. otherwise the prominent face: prominence is the box's area weighted by how central it is,
   `area * (1 - d)^2` with `d` the distance of the box centre from the image centre over half
   the image diagonal; the most prominent face is the subject when it is `dominance` times as
   prominent as the next;
3. otherwise nobody: the image is skipped as `ambiguous_faces` (two similar faces, neither
   dominant, nothing to agree with).

The images of one performer are settled together (`choose_subjects`): the images whose subject is
sure (one candidate) are the references of the others, and an image settled in a round is a
reference in the next, so two group photos can settle each other.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from stash_sense.faces.quality import enrollable
from stash_sense.faces.types import AnalyzedFace, Box, DetectedFace, FloatArray, ImageArray

if TYPE_CHECKING:
    from stash_sense.faces.engine import FaceEngine

NO_FACE = "no_face"
NO_USABLE_FACE = "no_usable_face"
AMBIGUOUS = "ambiguous_faces"

#: how the subject was chosen (`SubjectChoice.basis`)
ONLY = "only"
AGREEMENT = "agreement"
PROMINENCE = "prominence"


@dataclass(frozen=True)
class SubjectRule:
    """The rule's thresholds. `agree_floor` and `agree_margin` are cosine similarities on the
    first shared embedder (SFace in the default ensemble; see docs/matching.md for the figures
    they were chosen on)."""

    dominance: float = 2.0
    agree_floor: float = 0.3
    agree_margin: float = 0.1


DEFAULT_RULE = SubjectRule()


@dataclass
class Candidates:
    """The faces of one image that may be its subject, the image's size, and (when there are
    none) why: `no_face` (nothing detected), `no_usable_face` (every face too poor), or a reason
    the caller met earlier (an unreadable image)."""

    faces: list[AnalyzedFace] = field(default_factory=list)
    width: int = 0
    height: int = 0
    reason: str | None = None


@dataclass(frozen=True)
class SubjectChoice:
    """The subject's face and how it was chosen, or None and the skip reason."""

    face: AnalyzedFace | None
    basis: str | None = None  # ONLY | AGREEMENT | PROMINENCE
    reason: str | None = None  # why there is none


def prominence(box: Box, width: int, height: int) -> float:
    """The box's area weighted by its centrality: `area * (1 - d)^2` (see the module docstring)."""
    half_diagonal = max(math.hypot(width, height) / 2, 1e-6)
    dx = box.x + box.w / 2 - width / 2
    dy = box.y + box.h / 2 - height / 2
    d = min(math.hypot(dx, dy) / half_diagonal, 1.0)
    return box.area * (1.0 - d) ** 2


def agreement(face: AnalyzedFace, references: Sequence[AnalyzedFace]) -> float | None:
    """The highest cosine similarity of `face` to a reference, on the first embedder of `face`
    that the reference has too; None without any comparable reference."""
    best: float | None = None
    for ref in references:
        name = next((n for n in face.embeddings if n in ref.embeddings), None)
        if name is None:
            continue
        sim = _cosine(face.embeddings[name], ref.embeddings[name])
        best = sim if best is None else max(best, sim)
    return best


def choose_subject(
    candidates: Candidates,
    references: Sequence[AnalyzedFace] = (),
    rule: SubjectRule = DEFAULT_RULE,
) -> SubjectChoice:
    """The subject of one image, by agreement with `references`, then by prominence."""
    faces = candidates.faces
    if not faces:
        return SubjectChoice(None, reason=candidates.reason or NO_FACE)
    if len(faces) == 1:
        return SubjectChoice(faces[0], ONLY)
    agreed = by_agreement(faces, references, rule)
    if agreed is not None:
        return SubjectChoice(agreed, AGREEMENT)
    ranked = sorted(
        faces, key=lambda f: prominence(f.box, candidates.width, candidates.height), reverse=True
    )
    first = prominence(ranked[0].box, candidates.width, candidates.height)
    second = prominence(ranked[1].box, candidates.width, candidates.height)
    if first >= rule.dominance * second:
        return SubjectChoice(ranked[0], PROMINENCE)
    return SubjectChoice(None, reason=AMBIGUOUS)


def choose_subjects(
    images: Sequence[Candidates],
    references: Sequence[AnalyzedFace] = (),
    rule: SubjectRule = DEFAULT_RULE,
) -> list[SubjectChoice]:
    """The subject of each image of one performer, settled together (see the module docstring);
    `references` are faces known to be the performer from elsewhere (stored before)."""
    choices: dict[int, SubjectChoice] = {}
    known = list(references)
    for i, image in enumerate(images):
        if len(image.faces) <= 1:  # sure: no face, or the only candidate
            choices[i] = choose_subject(image, rule=rule)
            if image.faces:
                known.append(image.faces[0])
    pending = [i for i in range(len(images)) if i not in choices]
    while pending:
        for i in pending:
            choice = choose_subject(images[i], known, rule)
            if choice.face is not None:
                choices[i] = choice
        settled = [i for i in pending if i in choices]
        if not settled:
            break
        known += [f for i in settled if (f := choices[i].face) is not None]
        pending = [i for i in pending if i not in choices]
    return [choices.get(i, SubjectChoice(None, reason=AMBIGUOUS)) for i in range(len(images))]


def find_candidates(
    engine: FaceEngine, image: ImageArray, detected: Sequence[DetectedFace] | None = None
) -> Candidates:
    """The faces of a BGR image (`detected`, or found now) that may be its subject, embedded;
    the others are only judged, never embedded."""
    height, width = image.shape[:2]
    if detected is None:
        detected = engine.detect(image)
    aligned = engine.align(image, detected)
    kept = [a for a in aligned if enrollable(a.face.quality)]
    engine.embed_aligned(kept)
    reason = None if kept else (NO_USABLE_FACE if aligned else NO_FACE)
    return Candidates([a.face for a in kept], width, height, reason)


def by_agreement(
    faces: Sequence[AnalyzedFace],
    references: Sequence[AnalyzedFace],
    rule: SubjectRule = DEFAULT_RULE,
) -> AnalyzedFace | None:
    """The face that agrees with `references` (step 1 of the rule), or None."""
    if not references:
        return None
    scored = [(agreement(f, references), f) for f in faces]
    sims = sorted(((s, f) for s, f in scored if s is not None), key=lambda t: t[0], reverse=True)
    if not sims:
        return None
    best, face = sims[0]
    runner_up = sims[1][0] if len(sims) > 1 else -1.0
    if best >= rule.agree_floor and best - runner_up >= rule.agree_margin:
        return face
    return None


def _cosine(a: FloatArray, b: FloatArray) -> float:
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if na == 0.0 or nb == 0.0:
        return -1.0
    return float(np.dot(a, b) / (na * nb))
