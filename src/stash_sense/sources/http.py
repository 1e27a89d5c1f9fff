"""HTTP for every source: rate-limited requests with retries, and capped, streamed image downloads.

Retries: timeouts, connection errors and 5xx are retried with exponential backoff and full jitter;
429 waits for its Retry-After (and pauses the whole host); 401/403 raise `AuthError` at once, which
the builder turns into a clean stop. Anything that still fails raises `FetchError` with a short
machine-readable `reason` (recorded as the skip reason) and a one-line message; `is_transient()`
tells the failures worth trying again later (5xx, timeouts, resets, 429s, transient GraphQL errors)
from the permanent ones (404, not an image, too large).

Redirects are followed here, hop by hop, not by httpx: httpx strips only `Authorization` when a
redirect leaves the host, and would carry a custom header such as stash-box's `ApiKey` along. Each
hop is built afresh, and the credentials go only to the API's own host.
"""

from __future__ import annotations

import email.utils
import logging
import random
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

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


class HttpSession:
    """An httpx client behind a per-host rate limiter and a retry policy; thread-safe."""

    def __init__(
        self,
        *,
        limiter: HostRateLimiter,
        headers: dict[str, str] | None = None,
        auth_headers: dict[str, str] | None = None,
        auth_host: str | None = None,
        timeout_s: float = 30.0,
        retry: RetryPolicy | None = None,
        max_connections: int = 16,
        source: str = "source",
    ) -> None:
        self.limiter = limiter
        self.retry = retry or RetryPolicy()
        self.source = source
        self.requests = 0
        # credentials go only to the API's own host, never to image hosts such as a CDN
        self._auth_headers = dict(auth_headers or {})
        self._auth_host = auth_host
        self._client = httpx.Client(
            headers={"User-Agent": "stash-sense-builder/0.1", **(headers or {})},
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0)),
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            follow_redirects=False,  # followed in _send_following, see the module docstring
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the retry loop ---------------------------------------------------------------------

    def _send(
        self, method: str, url: str, *, stream: bool = False, **kwargs: Any
    ) -> httpx.Response:
        """Send with rate limiting and retries; return a 2xx/3xx/4xx (not 401/403/429) response."""
        last, reason = "no attempt", "error"
        for attempt in range(self.retry.attempts):
            self.limiter.acquire(url)
            self.requests += 1
            try:
                response = self._send_following(method, url, stream, kwargs)
            except httpx.TimeoutException:
                last, reason = f"timed out after {self._client.timeout.read}s", "timeout"
            except httpx.TransportError as exc:
                last, reason = f"connection failed ({type(exc).__name__})", "connection"
            else:
                status = response.status_code
                if status in (401, 403):
                    response.close()
                    raise AuthError(auth_message(self.source, f"{url} answered {status}"))
                if status == 429:
                    wait = parse_retry_after(response.headers.get("Retry-After"))
                    response.close()
                    wait = self.retry.backoff(attempt) if wait is None else wait
                    if wait > self.retry.max_retry_after_s:
                        raise FetchError("rate_limited", f"{url}: 429 with Retry-After {wait:.0f}s")
                    log.info("%s: 429 from %s, waiting %.1fs", self.source, url, wait)
                    self.limiter.pause(url, wait)
                    last, reason = "429 Too Many Requests", "rate_limited"
                    continue
                if status >= 500:
                    response.close()
                    last, reason = f"server error {status}", f"http_{status}"
                else:
                    return response
            if attempt + 1 < self.retry.attempts:
                delay = self.retry.backoff(attempt)
                log.info("%s: %s: %s; retry in %.1fs", self.source, url, last, delay)
                time.sleep(delay)
        raise FetchError(reason, f"{url}: {last} (gave up after {self.retry.attempts} attempts)")

    def _send_following(
        self, method: str, url: str, stream: bool, kwargs: dict[str, Any]
    ) -> httpx.Response:
        """One request and its redirects; credentials only on hops to the API's own host."""
        for _ in range(MAX_REDIRECTS + 1):
            request = self._client.build_request(method, url, **kwargs)
            if self._auth_headers and urlsplit(url).netloc == self._auth_host:
                request.headers.update(self._auth_headers)
            response = self._client.send(request, stream=stream)
            location = response.headers.get("Location")
            if not (response.is_redirect and location):
                return response
            response.close()
            url = urljoin(url, location)
            if response.status_code == 303 or (
                response.status_code in (301, 302) and method != "GET"
            ):
                method = "GET"
                kwargs = {k: v for k, v in kwargs.items() if k not in ("json", "content", "data")}
            self.limiter.acquire(url)
        raise FetchError("too_many_redirects", f"{url}: more than {MAX_REDIRECTS} redirects")

    # -- JSON APIs --------------------------------------------------------------------------

    def request_json(self, method: str, url: str, **kwargs: Any) -> Any:
        """A JSON API call; non-2xx and bodies that are not JSON raise `FetchError`."""
        response = self._send(method, url, **kwargs)
        if response.status_code >= 300:
            raise FetchError(f"http_{response.status_code}", f"{url}: HTTP {response.status_code}")
        try:
            return response.json()
        except ValueError:
            snippet = response.text[:80].replace("\n", " ")
            raise FetchError("malformed", f"{url}: response is not JSON ({snippet!r})") from None

    # -- images -----------------------------------------------------------------------------

    def download_image(self, url: str, max_bytes: int) -> bytes:
        """Stream an image, refusing non-images (HTML, 404) and anything over `max_bytes`."""
        response = self._send("GET", url, stream=True)
        try:
            if response.status_code >= 300:
                raise FetchError(
                    f"http_{response.status_code}", f"{url}: HTTP {response.status_code}"
                )
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise FetchError(
                    "too_large", f"{url}: {int(declared)} bytes is over the {max_bytes} cap"
                )
            ctype = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if ctype and not ctype.startswith("image/") and ctype != "application/octet-stream":
                raise FetchError("not_image", f"{url}: content type {ctype}, not an image")
            chunks: list[bytes] = []
            size = 0
            try:
                for chunk in response.iter_bytes(65536):
                    size += len(chunk)
                    if size > max_bytes:
                        raise FetchError("too_large", f"{url}: more than the {max_bytes} byte cap")
                    chunks.append(chunk)
            except httpx.TimeoutException:
                raise FetchError("timeout", f"{url}: timed out while reading the body") from None
            except httpx.TransportError as exc:
                raise FetchError("connection", f"{url}: {type(exc).__name__}") from None
            data = b"".join(chunks)
            if not looks_like_image(data[:16]):
                raise FetchError("not_image", f"{url}: body is not an image")
            return data
        finally:
            response.close()
