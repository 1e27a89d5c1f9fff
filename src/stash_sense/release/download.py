"""HTTP for releases: only the index's own host, redirects checked, nothing sent but the request,
downloads that resume where they stopped (HTTP Range)."""

from __future__ import annotations

import hashlib
import http.cookiejar
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from stash_sense.release.errors import ReleaseError

MAX_REDIRECTS = 5
MAX_JSON_BYTES = 16 * 1024 * 1024
ATTEMPTS = 4
_CHUNK = 1 << 20

Progress = Callable[[int], None]


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ReleaseError(f"not an http(s) URL: {url!r}")
    return parts.scheme, parts.hostname.lower(), parts.port


class ReleaseHost:
    """A client bound to the host of the release index; any other host is refused."""

    def __init__(self, index_url: str, timeout: float = 30.0) -> None:
        self.index_url = index_url
        self._origin = _origin(index_url)
        # No cookies kept, no User-Agent: the request carries nothing but itself.
        jar = http.cookiejar.CookieJar(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        self._client = httpx.Client(timeout=timeout, follow_redirects=False, cookies=jar)
        self._client.headers.pop("User-Agent", None)
        # identity: byte offsets of a Range request are offsets into the file itself
        self._client.headers["Accept-Encoding"] = "identity"

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> ReleaseHost:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def url(self, relative: str, base: str | None = None) -> str:
        """`relative` resolved against `base` (default: the index), refused off the index's host."""
        url = urljoin(base or self.index_url, relative)
        if _origin(url) != self._origin:
            raise ReleaseError(f"refusing {url}: releases come only from {self.index_url}'s host")
        return url

    def _send(self, url: str, headers: dict[str, str]) -> httpx.Response:
        """GET with each redirect checked against the index's host."""
        for _ in range(MAX_REDIRECTS + 1):
            request = self._client.build_request("GET", url, headers=headers)
            response = self._client.send(request, stream=True)
            if response.is_redirect:
                response.close()
                url = self.url(response.headers.get("location", ""), url)
                continue
            return response
        raise ReleaseError(f"too many redirects from {url}")

    def get_json(self, url: str) -> Any:
        try:
            response = self._send(url, {})
            try:
                if response.status_code != 200:
                    raise ReleaseError(f"{url} answered HTTP {response.status_code}")
                body = b""
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > MAX_JSON_BYTES:
                        raise ReleaseError(f"{url} is larger than a release file can be")
            finally:
                response.close()
        except httpx.HTTPError as err:
            raise ReleaseError(f"cannot read {url}: {err}") from None
        try:
            return json.loads(body)
        except ValueError:
            raise ReleaseError(f"{url} is not JSON") from None

    def download(self, url: str, dest: Path, size: int, sha256: str, progress: Progress) -> None:
        """`url` into `dest`, resuming a partial `dest`; checked against `size` and `sha256`.

        A network failure is retried from where it stopped; a file that does not match is deleted
        (so the next attempt starts clean) and reported.
        """
        if dest.exists() and dest.stat().st_size == size and _sha256(dest) == sha256:
            progress(size)
            return
        for attempt in range(ATTEMPTS):
            try:
                self._fetch(url, dest, size, progress)
                break
            except (httpx.TransportError, _Retry) as err:
                if attempt == ATTEMPTS - 1:
                    raise ReleaseError(f"downloading {url} failed: {err}") from None
                time.sleep(min(8.0, 0.5 * 2**attempt))
            except httpx.HTTPError as err:
                raise ReleaseError(f"downloading {url} failed: {err}") from None
        if _sha256(dest) != sha256:
            dest.unlink(missing_ok=True)
            raise ReleaseError(f"{dest.name} does not match its sha256 in the manifest (deleted)")

    def _fetch(self, url: str, dest: Path, size: int, progress: Progress) -> None:
        have = dest.stat().st_size if dest.exists() else 0
        if have > size:
            dest.unlink()
            have = 0
        progress(have)
        if have == size:
            return
        headers = {"Range": f"bytes={have}-"} if have else {}
        response = self._send(url, headers)
        try:
            if response.status_code == 206 and have:
                start = _content_range_start(response.headers.get("content-range", ""))
                if start != have:
                    raise ReleaseError(f"{url} resumed at byte {start}, not {have}")
                mode = "ab"
            elif response.status_code == 200:
                have, mode = 0, "wb"
                progress(0)
            elif response.status_code == 416:
                dest.unlink(missing_ok=True)
                raise ReleaseError(f"{url} is shorter than the manifest says ({size} bytes)")
            elif response.status_code in (429, 500, 502, 503, 504):
                raise _Retry(f"HTTP {response.status_code}")
            else:
                raise ReleaseError(f"{url} answered HTTP {response.status_code}")
            length = response.headers.get("content-length")
            if length is not None and length.isdigit() and have + int(length) != size:
                dest.unlink(missing_ok=True)
                raise ReleaseError(f"{url} is {have + int(length)} bytes, the manifest says {size}")
            # unbuffered: what reached the disk is exactly what a resumed download skips
            with dest.open(mode, buffering=0) as f:
                for chunk in response.iter_bytes():
                    if have + len(chunk) > size:
                        raise ReleaseError(f"{url} is larger than the manifest says ({size} bytes)")
                    f.write(chunk)
                    have += len(chunk)
                    progress(have)
        finally:
            response.close()
        if have != size:
            raise _Retry(f"the connection closed after {have} of {size} bytes")


class _Retry(Exception):
    """A failure worth another attempt (server busy, connection cut short)."""


def _content_range_start(value: str) -> int:
    try:
        return int(value.split(" ", 1)[1].split("-", 1)[0])
    except (IndexError, ValueError):
        return -1


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
