"""A face-database performer's picture: looked up, fetched from the performer's own stash-box
host only, cached on disk, and returned as a data URL.

The plugin shows candidates' pictures through the sidecar, so the browser never loads an image
from a stash-box host or its CDN. The picture is the database's image URL for the performer; it is
fetched (through `net`) only from the host of one of that performer's stash-box endpoints or a
subdomain of it, redirects included, with no credentials, at most 8 MiB within 20 s. The answer is
a data URL (which Stash's Content-Security-Policy allows in img-src).
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from stash_sense.app.errors import InvalidInput, NotFound, Unusable, Upstream
from stash_sense.app.picture_cache import PictureCache
from stash_sense.app.results import Picture
from stash_sense.net import HttpClient, NetError, Policy, Scope, redact_url
from stash_sense.sources.http import looks_like_image

if TYPE_CHECKING:
    from stash_sense.database import FaceDatabase

MAX_PICTURE_BYTES = 8 * 1024 * 1024
DEADLINE_S = 20.0
MAX_REDIRECTS = 3
#: the largest id SQLite stores; a larger one names no performer (and would overflow the query)
MAX_PERFORMER_ID = 2**63 - 1
_KINDS = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF8", "image/gif"),
    (b"RIFF", "image/webp"),
    (b"BM", "image/bmp"),
)


def _kind(data: bytes) -> str:
    return next((kind for magic, kind in _KINDS if data.startswith(magic)), "image/jpeg")


def allowed_hosts(stash_ids: list[dict[str, str]]) -> frozenset[str]:
    """The hosts of a performer's stash-box endpoints (https://stashdb.org/graphql: stashdb.org)."""
    hosts = set()
    for link in stash_ids:
        try:
            host = urlsplit(link.get("endpoint", "")).hostname
        except ValueError:
            continue
        if host:
            hosts.add(host)
    return frozenset(hosts)


def _decode_data_url(url: str) -> bytes:
    header, _, payload = url.partition(",")
    if not header.startswith("data:image/") or not header.endswith(";base64"):
        raise Unusable("the database's image is a data URL that is not a base64 image")
    try:
        return base64.b64decode(payload, validate=True)
    except ValueError:
        raise Unusable("the database's image data URL is not valid base64") from None


def _download(url: str, hosts: frozenset[str]) -> bytes:
    """The picture at `url`, every hop on `hosts`; at most MAX_PICTURE_BYTES."""
    policy = Policy(
        scope=Scope.HOSTS, hosts=hosts, max_redirects=MAX_REDIRECTS,
        max_bytes=MAX_PICTURE_BYTES, deadline_s=DEADLINE_S,
        content_types=("image/", "application/octet-stream"),
        refusal="not on the performer's stash-box host",
    )  # fmt: skip
    try:
        with HttpClient(timeout_s=DEADLINE_S, user_agent=None) as client:
            answer = client.request("GET", url, policy, headers={"Accept": "image/*"})
    except NetError as err:
        if err.reason == "refused":
            raise InvalidInput(str(err)) from None
        raise Upstream(f"cannot fetch the picture: {err}") from None
    if answer.status != 200:
        raise Upstream(f"{redact_url(answer.url)} answered HTTP {answer.status}")
    if not looks_like_image(answer.body[:16]):
        raise Upstream(f"{redact_url(answer.url)} is not an image")
    return answer.body


def performer_picture(db: FaceDatabase, cache_dir: Path, performer_id: int) -> Picture:
    """The picture of a database performer, from the cache in `cache_dir` or its stash-box host.

    Raises NotFound (no such performer, or no image), InvalidInput (an image off the
    performer's stash-box hosts), Unusable (a bad data URL) and Upstream (the host failed).
    """
    known = 0 < performer_id <= MAX_PERFORMER_ID
    info = db.performers([performer_id]).get(performer_id) if known else None
    if info is None:
        raise NotFound(f"the database has no performer {performer_id}")
    url = info.image_url
    if not url:
        raise NotFound(f"the database has no image of performer {performer_id}")
    if url.startswith("data:"):
        data = _decode_data_url(url)
    else:
        cache = PictureCache(cache_dir)
        cached = cache.get(url)
        if cached is None:
            data = _download(url, allowed_hosts(info.stash_ids))
            cache.put(url, data)
        else:
            data = cached
    encoded = base64.b64encode(data).decode()
    return Picture(performer_id=performer_id, data_url=f"data:{_kind(data)};base64,{encoded}")
