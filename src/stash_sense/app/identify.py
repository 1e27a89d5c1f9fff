"""Identify an image: every face (largest first) with the performers it may be."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stash_sense.app.errors import Unusable

if TYPE_CHECKING:
    from stash_sense.faces import FaceEngine
    from stash_sense.faces.types import FaceQuality
    from stash_sense.matching import Match, Matcher


@dataclass(frozen=True)
class FaceResult:
    """One face of an image: where it is, how good it is, and its matches (best first)."""

    box: list[float]
    score: float
    quality: FaceQuality
    matches: list[Match]

    def as_dict(self) -> dict[str, Any]:
        """The JSON a face is reported as (docs/architecture.md)."""
        return {
            "box": self.box,
            "score": round(float(self.score), 4),
            "quality": self.quality.as_dict(),
            "matches": [m.as_dict() for m in self.matches],
        }


@dataclass(frozen=True)
class ImageResult:
    """Every face of one image, largest first; `image` names it (a path, or a label)."""

    image: str
    faces: list[FaceResult]

    def as_dict(self) -> dict[str, Any]:
        return {"image": self.image, "faces": [f.as_dict() for f in self.faces]}


def identify_image(
    engine: FaceEngine,
    matcher: Matcher,
    image: Path | bytes,
    *,
    top: int = 5,
    name: str | None = None,
    max_bytes: int | None = None,
) -> ImageResult:
    """Identify the faces of `image` (a file, or its bytes, decoded in memory and called `name`).

    Faces go through the cascade (stash_sense.matching.cascade): SFace first, FaceNet only when
    SFace alone is not decisive. Raises Unusable when the image cannot be read (the message is
    faces.imageio's one line); DatabaseError when the database fails.
    """
    from stash_sense.faces import ImageError, load_image
    from stash_sense.matching.cascade import CascadeIdentifier

    label = name if name is not None else str(image)
    try:
        pixels = load_image(image, max_bytes=max_bytes)
    except ImageError as err:
        raise Unusable(str(err)) from err
    faces = [
        FaceResult(face.box.as_list(), float(face.score), face.quality, matches)
        for face, matches in CascadeIdentifier(engine, matcher).identify(pixels, top)
    ]
    return ImageResult(label, faces)
