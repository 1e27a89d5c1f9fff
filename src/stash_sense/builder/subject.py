"""Which face of a profile image is the performer: the only face, or one clearly dominant face.

A face is dominant when its box is at least `ratio` times the area of the next largest and its
centre lies in the middle of the picture; otherwise the image is ambiguous and skipped.
"""

from __future__ import annotations

from stash_sense.faces.types import DetectedFace

NO_FACE = "no_face"
AMBIGUOUS = "ambiguous_faces"


def is_centred(face: DetectedFace, width: int, height: int, margin: float = 0.2) -> bool:
    """Whether the box centre lies inside the image minus `margin` of each side."""
    cx = face.box.x + face.box.w / 2
    cy = face.box.y + face.box.h / 2
    return (margin * width <= cx <= (1 - margin) * width) and (
        margin * height <= cy <= (1 - margin) * height
    )


def choose_subject(
    faces: list[DetectedFace], width: int, height: int, ratio: float = 2.0
) -> tuple[DetectedFace | None, str | None]:
    """(the subject's face, None) or (None, skip reason)."""
    if not faces:
        return None, NO_FACE
    ranked = sorted(faces, key=lambda f: f.box.area, reverse=True)
    if len(ranked) == 1:
        return ranked[0], None
    first, second = ranked[0], ranked[1]
    if first.box.area >= ratio * second.box.area and is_centred(first, width, height):
        return first, None
    return None, AMBIGUOUS
