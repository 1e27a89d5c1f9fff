"""GET /images/{performer_id}: a database performer's picture, fetched by the sidecar and cached.

The plugin shows candidates' pictures through this route, so the browser never loads an image
from a stash-box host or its CDN. The picture is the database's image URL for the performer; the
sidecar fetches it only from the host of one of that performer's stash-box endpoints (or a
subdomain of it), follows redirects only within those hosts, caps its size, and keeps it on disk
under the data folder (a bounded cache, oldest dropped first). The answer is JSON, the picture
as a data URL (which Stash's Content-Security-Policy allows in img-src).
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from stash_sense.sidecar.errors import ApiError
from stash_sense.sidecar.responses import ERRORS, ImageOut
from stash_sense.sidecar.services import Services
from stash_sense.sources.http import looks_like_image

router = APIRouter(responses=ERRORS)
MAX_IMAGE_BYTES = 8 * 1024 * 1024
CACHE_BYTES = 256 * 1024 * 1024
TIMEOUT_S = 20.0
MAX_REDIRECTS = 3
_KINDS = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF8", "image/gif"),
    (b"RIFF", "image/webp"),
    (b"BM", "image/bmp"),
)


def _kind(data: bytes) -> str:
    return next((kind for magic, kind in _KINDS if data.startswith(magic)), "image/jpeg")


def allowed_hosts(stash_ids: list[dict[str, str]]) -> set[str]:
    """The hosts of a performer's stash-box endpoints (https://stashdb.org/graphql: stashdb.org)."""
    return {h for h in (urlsplit(s.get("endpoint", "")).hostname for s in stash_ids) if h}


def on_hosts(url: str, hosts: set[str]) -> bool:
    parts = urlsplit(url)
    host = parts.hostname or ""
    return parts.scheme in ("http", "https") and any(
        host == h or host.endswith(f".{h}") for h in hosts
    )


def _decode_data_url(url: str) -> bytes:
    header, _, payload = url.partition(",")
    if not header.startswith("data:image/") or not header.endswith(";base64"):
        raise ApiError(422, "the database's image is a data URL that is not a base64 image")
    try:
        data = base64.b64decode(payload, validate=True)
    except ValueError:
        raise ApiError(422, "the database's image data URL is not valid base64") from None
    return data


def _download(url: str, hosts: set[str]) -> bytes:
    """The image at url, following redirects only within hosts; at most MAX_IMAGE_BYTES."""
    with httpx.Client(timeout=TIMEOUT_S, follow_redirects=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            if not on_hosts(url, hosts):
                raise ApiError(400, f"refusing {url}: not on the performer's stash-box host")
            try:
                with client.stream("GET", url, headers={"Accept": "image/*"}) as response:
                    if response.is_redirect and "location" in response.headers:
                        url = urljoin(url, response.headers["location"])
                        continue
                    if response.status_code != 200:
                        raise ApiError(502, f"{url} answered HTTP {response.status_code}")
                    chunks: list[bytes] = []
                    size = 0
                    for chunk in response.iter_bytes(65536):
                        size += len(chunk)
                        if size > MAX_IMAGE_BYTES:
                            raise ApiError(502, f"{url} is larger than {MAX_IMAGE_BYTES} bytes")
                        chunks.append(chunk)
                    return b"".join(chunks)
            except httpx.HTTPError as err:
                raise ApiError(502, f"cannot fetch {url}: {type(err).__name__}") from None
    raise ApiError(502, f"{url}: more than {MAX_REDIRECTS} redirects")


class ImageCache:
    """Pictures on disk by the sha256 of their URL; past `limit` bytes the oldest-used go first."""

    def __init__(self, folder: Path, limit: int = CACHE_BYTES) -> None:
        self.folder = folder
        self.limit = limit

    def _path(self, url: str) -> Path:
        return self.folder / (hashlib.sha256(url.encode()).hexdigest() + ".img")

    def get(self, url: str) -> bytes | None:
        path = self._path(url)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        os.utime(path)  # marks it recently used
        return data

    def put(self, url: str, data: bytes) -> None:
        """Best effort: a full or read-only disk only means no caching."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            path = self._path(url)
            temp = path.with_suffix(f".{os.getpid()}.tmp")
            temp.write_bytes(data)
            os.replace(temp, path)
            self._prune()
        except OSError:
            return

    def _prune(self) -> None:
        files = sorted(self.folder.glob("*.img"), key=lambda p: p.stat().st_mtime, reverse=True)
        total = 0
        for path in files:
            total += path.stat().st_size
            if total > self.limit:
                path.unlink(missing_ok=True)


def performer_image(s: Services, performer_id: int) -> dict[str, Any]:
    with s.holder.use() as rec:
        info = rec.db.performers([performer_id]).get(performer_id)
    if info is None:
        raise ApiError(404, f"the database has no performer {performer_id}")
    url = info.image_url
    if not url:
        raise ApiError(404, f"the database has no image of performer {performer_id}")
    if url.startswith("data:"):
        data = _decode_data_url(url)
    else:
        cache = ImageCache(s.config.data_dir / "images")
        cached = cache.get(url)
        if cached is None:
            data = _download(url, allowed_hosts(info.stash_ids))
            if not looks_like_image(data[:16]):
                raise ApiError(502, f"{url} is not an image")
            cache.put(url, data)
        else:
            data = cached
    encoded = base64.b64encode(data).decode()
    return {"performer_id": performer_id, "data_url": f"data:{_kind(data)};base64,{encoded}"}


@router.get("/images/{performer_id}", response_model=ImageOut)
async def image(request: Request, performer_id: int) -> dict[str, Any]:
    services: Services = request.app.state.services
    return await run_in_threadpool(performer_image, services, performer_id)
