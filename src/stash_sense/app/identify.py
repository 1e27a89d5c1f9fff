"""Identify an image: every face (largest first) with the performers it may be."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from stash_sense.app.errors import Unusable
from stash_sense.app.match_identity import faces_with_identities
from stash_sense.app.results import ImageResult, face_result

if TYPE_CHECKING:
    from stash_sense.faces import FaceEngine
    from stash_sense.matching import Matcher
    from stash_sense.matching.tiers import Tier


def identify_image(
    engine: FaceEngine,
    matcher: Matcher,
    image: Path | bytes,
    *,
    top: int = 5,
    name: str | None = None,
    max_bytes: int | None = None,
    min_tier: Tier = "unlikely",
) -> ImageResult:
    """Identify the faces of `image` (a file, or its bytes, decoded in memory and called `name`);
    each face's `top` matches, those below `min_tier` left out.

    Faces go through the cascade (stash_sense.matching.cascade): SFace first, FaceNet only when
    SFace alone is not decisive. Each match carries its identity when the database has an
    identity graph. Raises Unusable when the image cannot be read (the message is
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
        face_result(face.box.as_list(), face.score, face.quality, matches, min_tier)
        for face, matches in CascadeIdentifier(engine, matcher).identify(pixels, top)
    ]
    return ImageResult(image=label, faces=faces_with_identities(faces, matcher.db.path))
