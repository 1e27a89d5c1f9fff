"""Identify a Stash performer: who, in the face database, their Stash image shows."""

from __future__ import annotations

from typing import TYPE_CHECKING

from stash_sense.app.errors import InvalidInput, NotFound, Unusable
from stash_sense.app.identify import identify_image
from stash_sense.app.results import PerformerResult
from stash_sense.net.redact import redact_url
from stash_sense.sources.stash import StashError

if TYPE_CHECKING:
    from stash_sense.faces import FaceEngine
    from stash_sense.matching import Matcher
    from stash_sense.matching.tiers import Tier
    from stash_sense.sources.stash import StashClient


def fetch_from_stash(stash: StashClient, url: str, max_bytes: int) -> bytes:
    """A file from the configured Stash host only; InvalidInput for any other host or a
    malformed URL (e.g. port 99999), named without its secrets."""
    try:
        on_host = stash.is_on_host(stash.absolute(url))
    except StashError:
        on_host = False
    if not on_host:
        shown = redact_url(url)
        raise InvalidInput(f"refusing to fetch {shown}: only the Stash host {stash.url} is allowed")
    return stash.fetch(url, max_bytes=max_bytes)


def identify_performer(
    stash: StashClient,
    engine: FaceEngine,
    matcher: Matcher,
    performer_id: str,
    *,
    top: int = 5,
    max_bytes: int,
    min_tier: Tier = "unlikely",
) -> PerformerResult:
    """Read the performer from Stash, fetch their image (at most `max_bytes`) and identify it;
    `matches` are the largest face's (those below `min_tier` left out).

    Raises NotFound (no such performer), Unusable (no image, or an unreadable one),
    InvalidInput (an image off the Stash host) and StashError (Stash failed).
    """
    performer = stash.find_performer(performer_id)
    if performer is None:
        raise NotFound(f"Stash has no performer {performer_id}")
    if not performer.image_path:
        raise Unusable(f"performer {performer_id} has no image in Stash")
    data = fetch_from_stash(stash, performer.image_path, max_bytes)
    found = identify_image(
        engine, matcher, data, top=top, name=f"performer {performer_id}", min_tier=min_tier
    )
    return PerformerResult(
        image=found.image,
        faces=found.faces,
        performer_id=performer.id,
        name=performer.name,
        matches=found.faces[0].matches if found.faces else [],
    )
