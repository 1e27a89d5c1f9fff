"""Which face of a profile picture is the performer: the only one, or one clearly dominant."""

from __future__ import annotations

import numpy as np

from stash_sense.builder.subject import AMBIGUOUS, NO_FACE, choose_subject
from stash_sense.faces.types import Box, DetectedFace


def face(x: float, y: float, size: float) -> DetectedFace:
    return DetectedFace(Box(x, y, size, size), 0.9, np.zeros((5, 2), np.float32))


def test_no_face() -> None:
    assert choose_subject([], 250, 250) == (None, NO_FACE)


def test_a_single_face_is_the_subject_wherever_it_is() -> None:
    corner = face(0, 0, 30)
    assert choose_subject([corner], 250, 250) == (corner, None)


def test_a_large_centred_face_beats_a_small_background_face() -> None:
    main, background = face(75, 60, 100), face(200, 10, 30)
    assert choose_subject([background, main], 250, 250) == (main, None)


def test_two_similar_faces_are_ambiguous() -> None:
    assert choose_subject([face(20, 80, 90), face(140, 80, 80)], 250, 250) == (None, AMBIGUOUS)


def test_a_large_face_off_centre_is_ambiguous() -> None:
    assert choose_subject([face(0, 0, 80), face(150, 150, 30)], 250, 250) == (None, AMBIGUOUS)
