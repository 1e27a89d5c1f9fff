"""HTTP for releases: only the index's own origin, every redirect checked, nothing sent but the
request (no cookie, no User-Agent), downloads that resume where they stopped (`net`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from stash_sense.net import (
    Closing,
    HttpClient,
    NetError,
    Policy,
    download_verified,
    origin_of,
    redact_url,
)
from stash_sense.release.errors import ReleaseError

MAX_REDIRECTS = 5
MAX_JSON_BYTES = 16 * 1024 * 1024
JSON_DEADLINE_S = 120.0

Progress = Callable[[int], None]


class ReleaseHost(Closing[HttpClient]):
    """A client bound to the origin of the release index; any other origin is refused."""

    def __init__(self, index_url: str, timeout: float = 30.0) -> None:
        if origin_of(index_url) is None:
            raise ReleaseError(f"not an http(s) URL: {redact_url(index_url)!r}")
        self.index_url = index_url
        self._policy = Policy(
            origin=index_url,
            max_redirects=MAX_REDIRECTS,
            max_bytes=MAX_JSON_BYTES,
            deadline_s=JSON_DEADLINE_S,
            refusal=f"releases come only from {redact_url(index_url)}'s host",
        )
        # identity: byte offsets of a Range request are offsets into the file itself
        self._http = HttpClient(
            timeout_s=timeout, user_agent=None, headers={"Accept-Encoding": "identity"}
        )

    def url(self, relative: str, base: str | None = None) -> str:
        """`relative` resolved against `base` (default: the index), refused off the index's host."""
        url = urljoin(base or self.index_url, relative)
        if not self._policy.allows(url):
            raise ReleaseError(f"refusing {redact_url(url)}: {self._policy.refusal}")
        return url

    def get_json(self, url: str) -> Any:
        try:
            answer = self._http.request("GET", url, self._policy)
        except NetError as err:
            if err.reason == "too_large":
                raise ReleaseError(f"{url} is larger than a release file can be") from None
            raise ReleaseError(f"cannot read {url}: {err}") from None
        if answer.status != 200:
            raise ReleaseError(f"{url} answered HTTP {answer.status}")
        try:
            return json.loads(answer.body)
        except ValueError:
            raise ReleaseError(f"{url} is not JSON") from None

    def download(self, url: str, dest: Path, size: int, sha256: str, progress: Progress) -> None:
        """`url` into `dest`, resuming a partial `dest`; checked against `size` and `sha256`.

        A network failure is retried from where it stopped; a file that does not match is deleted
        (so the next attempt starts clean) and reported; a full disk is one clear error.
        """
        policy = Policy(
            origin=self.index_url,
            max_redirects=MAX_REDIRECTS,
            max_bytes=size,
            deadline_s=None,
            refusal=self._policy.refusal,
        )
        try:
            download_verified(
                self._http, url, dest, policy,
                sha256=sha256, size=size, progress=lambda done, _total: progress(done),
            )  # fmt: skip
        except NetError as err:
            if err.reason == "checksum":
                raise ReleaseError(
                    f"{dest.name} does not match its sha256 in the manifest (deleted)"
                ) from None
            if err.reason in ("disk", "refused"):
                raise ReleaseError(str(err)) from None
            raise ReleaseError(f"downloading {url} failed: {err}") from None
