"""Embedders: each turns aligned face crops into identity vectors of its own size."""

from stash_sense.faces.embedders.arcface import ArcFaceEmbedder
from stash_sense.faces.embedders.base import Embedder
from stash_sense.faces.embedders.dlib_resnet import DlibResNetEmbedder
from stash_sense.faces.embedders.facenet import FaceNetEmbedder
from stash_sense.faces.embedders.sface import SFaceEmbedder

EMBEDDERS: dict[str, type[Embedder]] = {
    "sface": SFaceEmbedder,
    "facenet": FaceNetEmbedder,
    "dlib": DlibResNetEmbedder,
    "arcface": ArcFaceEmbedder,
}


def make_embedder(name: str, *, flip: bool = False) -> Embedder:
    try:
        cls = EMBEDDERS[name]
    except KeyError:
        raise ValueError(f"unknown embedder {name!r} (known: {', '.join(EMBEDDERS)})") from None
    return cls(flip=flip)


__all__ = [
    "EMBEDDERS",
    "ArcFaceEmbedder",
    "DlibResNetEmbedder",
    "Embedder",
    "FaceNetEmbedder",
    "SFaceEmbedder",
    "make_embedder",
]
