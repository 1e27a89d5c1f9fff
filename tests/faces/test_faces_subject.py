"""The subject rule shared by `build` and `db enroll`, on real LFW photos: a photo with a
companion gives its centred person, two equal faces side by side are ambiguous alone and settled
by the performer's other photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stash_sense.faces import FaceEngine, load_image
from stash_sense.faces.subject import (
    AGREEMENT,
    AMBIGUOUS,
    NO_FACE,
    ONLY,
    PROMINENCE,
    Candidates,
    SubjectChoice,
    choose_subject,
    choose_subjects,
    find_candidates,
)
from stash_sense_devkit.standins.faults import no_face_jpeg, two_faces_jpeg


def candidates(engine: FaceEngine, source: Path | bytes) -> Candidates:
    data = source.read_bytes() if isinstance(source, Path) else source
    return find_candidates(engine, load_image(data))


def centre(choice: SubjectChoice) -> tuple[float, float]:
    assert choice.face is not None, choice
    box = choice.face.box
    return box.x + box.w / 2, box.y + box.h / 2


@pytest.fixture(scope="module")
def side_by_side(lfw_dev: Path) -> bytes:
    """Tom Cruise (left) and Serena Williams (right), two one-face photos at the same size."""
    left = (lfw_dev / "Tom_Cruise" / "1.jpg").read_bytes()
    right = (lfw_dev / "Serena_Williams" / "1.jpg").read_bytes()
    return two_faces_jpeg(left, right)


def test_a_one_face_photo_is_its_subject(engine: FaceEngine, lfw_dev: Path) -> None:
    found = candidates(engine, lfw_dev / "Tom_Cruise" / "0.jpg")
    choice = choose_subject(found)
    assert choice.basis == ONLY and choice.face is found.faces[0]
    assert set(choice.face.embeddings) == set(engine.embedder_names)


def test_no_face_is_a_reason(engine: FaceEngine) -> None:
    found = candidates(engine, no_face_jpeg())
    assert found.faces == [] and choose_subject(found) == SubjectChoice(None, reason=NO_FACE)


@pytest.mark.parametrize(
    "photo",
    [
        "Diana_Krall/5.jpg",  # the companion's face is the larger one
        "Carrie-Anne_Moss/2.jpg",  # the companion's face is nearly as large
        "Ali_Naimi/2.jpg",
    ],
)
def test_the_centred_person_of_a_photo_with_a_companion(
    engine: FaceEngine, lfw_dev: Path, photo: str
) -> None:
    found = candidates(engine, lfw_dev / photo)
    assert len(found.faces) >= 2
    choice = choose_subject(found)
    assert choice.basis == PROMINENCE
    x, y = centre(choice)
    assert abs(x - 125) < 25 and abs(y - 125) < 25  # LFW centres the named person


def test_two_equal_faces_are_ambiguous_alone(engine: FaceEngine, side_by_side: bytes) -> None:
    found = candidates(engine, side_by_side)
    assert len(found.faces) == 2
    assert choose_subject(found) == SubjectChoice(None, reason=AMBIGUOUS)


@pytest.mark.parametrize(("other", "side"), [("Tom_Cruise", "left"), ("Serena_Williams", "right")])
def test_the_performers_other_photo_settles_two_equal_faces(
    engine: FaceEngine, lfw_dev: Path, side_by_side: bytes, other: str, side: str
) -> None:
    images = [candidates(engine, side_by_side), candidates(engine, lfw_dev / other / "0.jpg")]
    pair, own = choose_subjects(images)
    assert own.basis == ONLY and pair.basis == AGREEMENT
    x, _ = centre(pair)
    assert (x < 250) == (side == "left")  # the composite is 500 pixels wide


def test_a_photo_settled_by_prominence_settles_the_next(
    engine: FaceEngine, lfw_dev: Path, side_by_side: bytes
) -> None:
    """Tom Cruise's 2.jpg has a companion too: its centred face, once chosen, is the reference
    that picks him out of the side-by-side picture in the next round."""
    images = [candidates(engine, side_by_side), candidates(engine, lfw_dev / "Tom_Cruise/2.jpg")]
    pair, group = choose_subjects(images)
    assert group.basis == PROMINENCE and pair.basis == AGREEMENT
    assert centre(pair)[0] < 250


def test_faces_of_strangers_agree_with_nobody(
    engine: FaceEngine, lfw_dev: Path, side_by_side: bytes
) -> None:
    """Neither face of the pair is the performer of the other photo: no agreement, no pick."""
    images = [candidates(engine, side_by_side), candidates(engine, lfw_dev / "Yao_Ming/0.jpg")]
    pair, _ = choose_subjects(images)
    assert pair == SubjectChoice(None, reason=AMBIGUOUS)


def test_a_reason_given_by_the_caller_is_kept() -> None:
    unreadable = Candidates(reason="unreadable")
    assert choose_subjects([unreadable]) == [SubjectChoice(None, reason="unreadable")]


def test_candidates_without_embeddings_fall_back_to_prominence(
    engine: FaceEngine, lfw_dev: Path
) -> None:
    found = candidates(engine, lfw_dev / "Diana_Krall" / "5.jpg")
    bare = Candidates(
        [type(f)(f.detected, f.quality) for f in found.faces], found.width, found.height
    )
    reference = candidates(engine, lfw_dev / "Diana_Krall" / "0.jpg").faces
    choice = choose_subject(bare, reference)
    assert choice.basis == PROMINENCE and np.isfinite(centre(choice)).all()
