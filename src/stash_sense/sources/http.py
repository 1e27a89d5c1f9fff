"""HTTP for every source: rate-limited requests with retries, and capped, streamed image downloads.

Retries: timeouts, connection errors and 5xx are retried with exponential backoff and full jitter;
429 waits for its Retry-After (and pauses the whole host); 401/403 raise `AuthError` at once, which
the builder turns into a clean stop. Anything that still fails raises `FetchError` with a short
machine-readable `reason` (recorded as the skip reason) and a one-line message; `is_transient()`
tells the failures worth trying again later (5xx, timeouts, resets, 429s, transient GraphQL errors)
from the permanent ones (404, not an image, too large).

Requests go through `net.HttpClient`: redirects followed hop by hop, the API key sent only to the
API's own origin (never to an image host such as a CDN), bodies capped, one deadline per request.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from stash_sense.net import Closing, HttpClient, NetError, Opened, Policy, Scope
from stash_sense.sources.ratelimit import HostRateLimiter

log = logging.getLogger(__name__)

IMAGE_MAGIC: tuple[bytes, ...] = (
    b"\xff\xd8\xff",  # JPEG
    b"\x89PNG\r\n\x1a\n",
    b"GIF87a",
    b"GIF89a",
    b"RIFF",  # WebP (RIFF....WEBP)
    b"BM",  # BMP
)


class SourceError(Exception):
    """A source could not be read; `str()` is one clear line."""


class AuthError(SourceError):
    """401/403: the API key is missing, wrong or lacks rights. The build stops."""


TRANSIENT_REASONS = {"timeout", "connection", "rate_limited", "graphql_error", "malformed"}
MAX_REDIRECTS = 5
#: the largest JSON answer read (a page of 100 stash-box performers is well under 1 MB)
MAX_JSON_BYTES = 64 * 1024 * 1024
#: a whole request (redirects and body) may take this many times the per-read timeout
DEADLINE_FACTOR = 4
IMAGE_TYPES = ("image/", "application/octet-stream")
_IMAGE_REASONS = {"content_type": "not_image"}


def auth_message(source: str, what: str) -> str:
    """The one line a build stops with when the key is missing or wrong (never the key itself)."""
    env = "STASH_SENSE_" + re.sub(r"[^A-Za-z0-9]", "_", source).upper() + "_API_KEY"
    return (
        f"{source}: {what}: the API key is missing, wrong or lacks rights; set {env} "
        "or api_key in the endpoints file, then run the same command again (progress is kept)"
    )


class FetchError(SourceError):
    """A request failed for good; `reason` is a short tag such as `http_404` or `timeout`."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason

    @property
    def transient(self) -> bool:
        return is_transient(self.reason)


def is_transient(reason: str) -> bool:
    """Whether a failure with this reason may well succeed later (worth a retry, never a skip)."""
    return reason in TRANSIENT_REASONS or (reason.startswith("http_5") and len(reason) == 8)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: attempts, backoff base and cap, and the longest Retry-After obeyed."""

    attempts: int = 5
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0
    max_retry_after_s: float = 600.0

    def backoff(self, attempt: int) -> float:
        """Full-jitter exponential backoff for the given (0-based) retry."""
        ceiling = min(self.max_delay_s, self.base_delay_s * (2**attempt))
        return random.uniform(ceiling / 2, ceiling)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def looks_like_image(head: bytes) -> bool:
    return any(head.startswith(magic) for magic in IMAGE_MAGIC)


T = TypeVar("T")


class HttpSession(Closing[HttpClient]):
    """`net.HttpClient` behind a per-host rate limiter and a retry policy; thread-safe.

    Requests may reach any http(s) host (images live on CDNs); `auth_headers` go only to the exact
    origin of `auth_origin`, the API's own (see `net.Policy`).
    """

    def __init__(
        self,
        *,
        limiter: HostRateLimiter,
        headers: dict[str, str] | None = None,
        auth_headers: dict[str, str] | None = None,
        auth_origin: str | None = None,
        timeout_s: float = 30.0,
        retry: RetryPolicy | None = None,
        max_connections: int = 16,
        source: str = "source",
    ) -> None:
        self.limiter = limiter
        self.retry = retry or RetryPolicy()
        self.source = source
        self.requests = 0
        self.timeout_s = timeout_s
        self._policy = Policy(
            scope=Scope.ANY,
            origin=auth_origin,
            credentials=dict(auth_headers or {}),
            max_redirects=MAX_REDIRECTS,
            max_bytes=MAX_JSON_BYTES,
            deadline_s=DEADLINE_FACTOR * timeout_s,
        )
        self._http = HttpClient(
            timeout_s=timeout_s,
            headers=headers,
            user_agent="stash-sense-builder/0.1",
            max_connections=max_connections,
        )

    # -- the retry loop ---------------------------------------------------------------------

    def _send(
        self,
        method: str,
        url: str,
        policy: Policy,
        read: Callable[[Opened], T],
        **kwargs: Any,
    ) -> T:
        """Send with rate limiting and retries; `read` takes the answer (not 401/403/429/5xx)."""
        last, reason = "no attempt", "error"
        wait: float | None = None
        for attempt in range(self.retry.attempts):
            self.limiter.acquire(url)
            self.requests += 1
            try:
                with self._http.stream(
                    method, url, policy, on_redirect=self.limiter.acquire, **kwargs
                ) as opened:
                    status = opened.status
                    if status in (401, 403):
                        raise AuthError(auth_message(self.source, f"{url} answered {status}"))
                    if status == 429:
                        wait = parse_retry_after(opened.headers.get("Retry-After"))
                    elif status < 500:
                        return read(opened)
            except NetError as err:
                if err.reason not in ("timeout", "connection"):
                    raise FetchError(err.reason, str(err)) from None
                # NetError names the URL already: once in the line is enough
                last, reason = str(err).removeprefix(f"{url}: "), err.reason
            else:
                if status == 429:
                    wait = self.retry.backoff(attempt) if wait is None else wait
                    if wait > self.retry.max_retry_after_s:
                        raise FetchError("rate_limited", f"{url}: 429 with Retry-After {wait:.0f}s")
                    log.info("%s: 429 from %s, waiting %.1fs", self.source, url, wait)
                    self.limiter.pause(url, wait)
                    last, reason = "429 Too Many Requests", "rate_limited"
                    continue
                last, reason = f"server error {status}", f"http_{status}"
            if attempt + 1 < self.retry.attempts:
                delay = self.retry.backoff(attempt)
                log.info("%s: %s: %s; retry in %.1fs", self.source, url, last, delay)
                time.sleep(delay)
        raise FetchError(reason, f"{url}: {last} (gave up after {self.retry.attempts} attempts)")

    # -- JSON APIs --------------------------------------------------------------------------

    def request_json(self, method: str, url: str, **kwargs: Any) -> Any:
        """A JSON API call; non-2xx and bodies that are not JSON raise `FetchError`."""

        def read(opened: Opened) -> bytes:
            if opened.status >= 300:
                raise FetchError(f"http_{opened.status}", f"{url}: HTTP {opened.status}")
            return opened.read()

        body = self._send(method, url, self._policy, read, **kwargs)
        try:
            return json.loads(body)
        except ValueError:
            snippet = body[:80].decode("utf-8", "replace").replace("\n", " ")
            raise FetchError("malformed", f"{url}: response is not JSON ({snippet!r})") from None

    # -- images -----------------------------------------------------------------------------

    def download_image(self, url: str, max_bytes: int) -> bytes:
        """Stream an image, refusing non-images (HTML, 404) and anything over `max_bytes`."""
        policy = replace(self._policy, max_bytes=max_bytes, content_types=IMAGE_TYPES)

        def read(opened: Opened) -> bytes:
            if opened.status >= 300:
                raise FetchError(f"http_{opened.status}", f"{url}: HTTP {opened.status}")
            try:
                data = opened.read()
            except NetError as err:  # a body that fails is not tried again
                raise FetchError(_IMAGE_REASONS.get(err.reason, err.reason), str(err)) from None
            if not looks_like_image(data[:16]):
                raise FetchError("not_image", f"{url}: body is not an image")
            return data

        return self._send("GET", url, policy, read)
