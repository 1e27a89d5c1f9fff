"""Which face of a profile picture is the performer: the only one, one clearly dominant (large
and central), or the one that agrees with the performer's other pictures (`settle`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from stash_sense.builder.images import ImageOutcome
from stash_sense.builder.subject import settle
from stash_sense.faces import FaceEngine, load_image
from stash_sense.faces.subject import (
    AMBIGUOUS,
    NO_FACE,
    Candidates,
    choose_subject,
    find_candidates,
)
from stash_sense.faces.types import AnalyzedFace, Box, DetectedFace, FaceQuality
from stash_sense_devkit.standins.faults import two_faces_jpeg

GOOD = FaceQuality(0.9, 80.0, 100.0, 0.0, 0.0, 0.0, usable=True)


def face(x: float, y: float, size: float) -> AnalyzedFace:
    detected = DetectedFace(Box(x, y, size, size), 0.9, np.zeros((5, 2), np.float32))
    return AnalyzedFace(detected, GOOD)


def subject(faces: list[AnalyzedFace]) -> tuple[AnalyzedFace | None, str | None]:
    choice = choose_subject(Candidates(faces, 250, 250, None if faces else NO_FACE))
    return choice.face, choice.reason


def test_no_face() -> None:
    assert subject([]) == (None, NO_FACE)


def test_a_single_face_is_the_subject_wherever_it_is() -> None:
    corner = face(0, 0, 30)
    assert subject([corner]) == (corner, None)


def test_a_large_centred_face_beats_a_small_background_face() -> None:
    main, background = face(75, 60, 100), face(200, 10, 30)
    assert subject([background, main]) == (main, None)


def test_two_similar_faces_are_ambiguous() -> None:
    assert subject([face(20, 80, 90), face(140, 80, 80)]) == (None, AMBIGUOUS)


def test_a_large_face_off_centre_is_ambiguous() -> None:
    assert subject([face(0, 0, 80), face(150, 150, 30)]) == (None, AMBIGUOUS)


def test_settle_picks_the_face_that_agrees_with_the_performers_other_image(
    engine: FaceEngine, lfw_dev: Path
) -> None:
    """A performer's two images, as the image workers leave them: one portrait, one picture of
    two equal faces; the portrait settles which face of the pair is the performer."""
    pair = two_faces_jpeg(
        (lfw_dev / "Serena_Williams" / "1.jpg").read_bytes(),
        (lfw_dev / "Tom_Cruise" / "1.jpg").read_bytes(),
    )
    portrait = (lfw_dev / "Tom_Cruise" / "0.jpg").read_bytes()
    outcomes = [
        ImageOutcome(url, candidates=find_candidates(engine, load_image(data)))
        for url, data in (("pair", pair), ("portrait", portrait))
    ]
    alone = settle([ImageOutcome("pair", candidates=outcomes[0].candidates)])
    assert (alone[0].face, alone[0].skip_reason) == (None, AMBIGUOUS)
    settled = settle(outcomes)
    assert [o.candidates for o in settled] == [None, None]
    chosen = settled[0].face
    assert chosen is not None and chosen.box.x >= 250  # Tom Cruise is on the right
    assert settled[1].face is not None and settled[1].skip_reason is None
