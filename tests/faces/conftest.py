"""Shared fixtures: the evaluation photos and one engine for the whole session."""

from __future__ import annotations

from pathlib import Path

import pytest

from stash_sense.faces import FaceEngine, load_image
from stash_sense.faces.types import ImageArray

EVAL = Path(__file__).resolve().parents[1] / "data" / "faces"


def eval_dir(name: str) -> Path:
    path = EVAL / name
    if not path.is_dir():
        pytest.skip(f"evaluation data missing: {path}")
    return path


@pytest.fixture(scope="session")
def lfw_dev() -> Path:
    return eval_dir("lfw-dev")


@pytest.fixture(scope="session")
def hard_queries() -> Path:
    return eval_dir("lfw-dev-hard-queries")


@pytest.fixture(scope="session")
def engine() -> FaceEngine:
    return FaceEngine.default().load()


#: two photos each of five people: the faces the dlib tests run
DLIB_PEOPLE = ["Abdoulaye_Wade", "Adam_Sandler", "Abdullah_Gul", "Alvaro_Uribe", "Andre_Agassi"]


@pytest.fixture(scope="session")
def chips(engine: FaceEngine, lfw_dev: Path) -> list[ImageArray]:
    """dlib's chips of ten faces (two photos of five people)."""
    from stash_sense.faces.embedders import DlibResNetEmbedder

    dlib = DlibResNetEmbedder()
    out = []
    for person in DLIB_PEOPLE:
        for k in ("0.jpg", "1.jpg"):
            image = load_image(lfw_dev / person / k)
            face = engine.detect(image)[0]
            out.append(dlib.align(image, face.landmarks, face.box))
    return out
