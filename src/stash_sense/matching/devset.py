"""Top-1 outcomes on a labelled folder (one sub-folder per identity): the input of calibration."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from stash_sense.matching.match import Match
from stash_sense.matching.matcher import Matcher
from stash_sense.matching.tiers import MARGIN_CAP

if TYPE_CHECKING:
    from stash_sense.faces.types import AnalyzedFace

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}


@dataclass
class DevOutcome:
    image: Path
    identity: str
    top1: str | None
    distance: float | None
    correct: bool
    #: the best match that is not this identity: the distance a stranger would get
    stranger_distance: float | None = None
    #: the runner-up's distance minus the top match's (as the query, and as a stranger)
    margin: float = MARGIN_CAP
    stranger_margin: float = MARGIN_CAP


def labelled_images(root: Path) -> Iterator[tuple[str, Path]]:
    """(identity, image) for every image in `root/<identity>/`."""
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        for image in sorted(folder.iterdir()):
            if image.suffix.lower() in IMAGE_SUFFIXES and image.is_file():
                yield folder.name, image


def _margin(distances: list[float]) -> float:
    return distances[1] - distances[0] if len(distances) > 1 else MARGIN_CAP


def _is(identity: str, match: Match) -> bool:
    """Whether a match is this identity (by name or alias, case-insensitively)."""
    names = {match.name.casefold(), *(a.casefold() for a in match.aliases)}
    return identity.casefold() in names


def evaluate(
    matcher: Matcher,
    analyze: Callable[[Path], list[AnalyzedFace]],
    root: Path,
    on_progress: Callable[[int, int], None] | None = None,
) -> list[DevOutcome]:
    """Match the largest face of each image; right when the top-1 is that identity (or alias).

    Each outcome also keeps the best match that is *not* the identity: the image as a stranger's.
    """
    items = list(labelled_images(root))
    out: list[DevOutcome] = []
    for n, (identity, image) in enumerate(items, 1):
        try:
            faces = analyze(image)
        except Exception:  # an unreadable image is left out of calibration
            faces = []
        if faces:
            matches = matcher.match_face(faces[0], top=3)
            if matches:
                m = matches[0]
                others = [o for o in matches if not _is(identity, o)]
                out.append(
                    DevOutcome(
                        image, identity, m.name, m.distance, _is(identity, m),
                        others[0].distance if others else None,
                        _margin([x.distance for x in matches]),
                        _margin([x.distance for x in others]),
                    )
                )  # fmt: skip
        if on_progress:
            on_progress(n, len(items))
    return out
