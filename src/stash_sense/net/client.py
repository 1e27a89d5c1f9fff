"""Outbound HTTP for every caller: each redirect followed here, hop by hop, and checked against the
request's `Policy`; credentials only on hops to their own origin; bodies read in chunks and cut at
the cap; one deadline for the whole request, not only for each read.

httpx follows redirects itself only with its own rules (it strips `Authorization` when the host
changes but carries a custom header such as stash-box's `ApiKey` along), so it never follows one
here. No cookie is ever kept: a cookie is a credential, and a policy names its credentials.
"""

from __future__ import annotations

import http.cookiejar
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, Protocol, Self, TypeVar
from urllib.parse import urljoin

import httpx

from stash_sense.net.errors import NetError
from stash_sense.net.policy import Policy
from stash_sense.net.redact import redact_url

_BODY_ARGS = ("json", "content", "data", "files")
#: headers that are credentials whatever the policy names (stash-box and Stash use `ApiKey`)
CREDENTIAL_HEADERS = ("Authorization", "Proxy-Authorization", "Cookie", "ApiKey")


class Deadline:
    """The end of a request's time, if it has one; `check` raises NetError once it has passed."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.end = None if seconds is None else time.monotonic() + seconds

    def check(self, url: str) -> None:
        if self.end is not None and time.monotonic() > self.end:
            raise NetError(
                "timeout", f"{redact_url(url)}: no complete answer within {self.seconds:g}s"
            )

    def bound(self, timeout: httpx.Timeout) -> httpx.Timeout:
        """`timeout` with no part longer than the time left."""
        if self.end is None:
            return timeout
        left = max(0.01, self.end - time.monotonic())
        parts = {
            "connect": timeout.connect, "read": timeout.read,
            "write": timeout.write, "pool": timeout.pool,
        }  # fmt: skip
        return httpx.Timeout(**{k: left if p is None else min(p, left) for k, p in parts.items()})


@dataclass
class Opened:
    """A response whose redirects are behind it and whose body is still to be read."""

    url: str
    response: httpx.Response
    policy: Policy
    deadline: Deadline

    @property
    def status(self) -> int:
        return self.response.status_code

    @property
    def headers(self) -> httpx.Headers:
        return self.response.headers

    def chunks(self, cap: int | None = None) -> Iterator[bytes]:
        """The body in chunks; NetError past `cap` (default: the policy's) or the deadline."""
        cap = self.policy.max_bytes if cap is None else cap
        shown = redact_url(self.url)
        declared = self.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > cap:
            raise NetError("too_large", f"{shown}: {int(declared)} bytes is over the {cap} cap")
        if not self.policy.accepts_type(self.headers.get("Content-Type", "")):
            kind = self.headers.get("Content-Type", "").split(";")[0].strip()
            raise NetError("content_type", f"{shown}: content type {kind} is not accepted here")
        size = 0
        with _mapped(self.url, "while reading the body"):
            for chunk in self.response.iter_bytes():  # as they arrive: a trickle meets the deadline
                size += len(chunk)
                if size > cap:
                    raise NetError("too_large", f"{shown}: more than the {cap} byte cap")
                self.deadline.check(self.url)
                yield chunk

    def read(self, cap: int | None = None) -> bytes:
        return b"".join(self.chunks(cap))


@dataclass(frozen=True)
class Answer:
    """A whole answer: final URL, status, headers and (for a 2xx) the body, read under the cap."""

    url: str
    status: int
    headers: httpx.Headers
    body: bytes


@contextmanager
def _mapped(url: str, when: str = "") -> Iterator[None]:
    """httpx's failures as NetError, named by the URL without its secrets."""
    shown = redact_url(url) + (f" ({when})" if when else "")
    try:
        yield
    except httpx.TimeoutException:
        raise NetError("timeout", f"{shown}: timed out") from None
    except httpx.TransportError as err:
        raise NetError("connection", f"{shown}: connection failed ({type(err).__name__})") from None
    except (httpx.HTTPError, httpx.InvalidURL) as err:
        raise NetError("connection", f"{shown}: {type(err).__name__}") from None


class _Closable(Protocol):
    def close(self) -> None: ...


C = TypeVar("C", bound=_Closable)


class Closing(Generic[C]):
    """For a class that owns a client in `_http`: `close()` closes it, and `with` closes it too."""

    _http: C

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class HttpClient(Closing[httpx.Client]):
    """One connection pool for many requests, each under its own `Policy`; thread-safe."""

    def __init__(
        self,
        *,
        timeout_s: float = 30.0,
        connect_s: float = 10.0,
        headers: dict[str, str] | None = None,
        user_agent: str | None = "stash-sense",
        max_connections: int = 16,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        jar = http.cookiejar.CookieJar(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        self._http = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, connect_s)),
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            follow_redirects=False,
            cookies=jar,
            transport=transport,
        )
        if user_agent is None:
            self._http.headers.pop("User-Agent", None)
        else:
            self._http.headers["User-Agent"] = user_agent

    @property
    def timeout_s(self) -> float | None:
        return self._http.timeout.read

    @contextmanager
    def stream(
        self,
        method: str,
        url: str,
        policy: Policy,
        *,
        headers: dict[str, str] | None = None,
        on_redirect: Callable[[str], object] | None = None,
        **body: Any,
    ) -> Iterator[Opened]:
        """Send and follow redirects under `policy`; yield the final response, body unread.

        `on_redirect(url)` is called before each redirect hop (a rate limiter's acquire).
        """
        deadline = Deadline(policy.deadline_s)
        for _ in range(policy.max_redirects + 1):
            if not policy.allows(url):
                raise NetError("refused", f"refusing {redact_url(url)}: {policy.refusal}")
            with _mapped(url):
                request = self._http.build_request(
                    method, url, headers=headers, timeout=deadline.bound(self._http.timeout),
                    **body,
                )  # fmt: skip
                own = policy.credentials_for(url)
                if not own:  # a credential the caller passed itself does not leave the origin
                    for name in (*CREDENTIAL_HEADERS, *policy.credentials):
                        request.headers.pop(name, None)
                request.headers.update(own)
                response = self._http.send(request, stream=True)
            location = response.headers.get("Location")
            if not (response.is_redirect and location):
                try:
                    yield Opened(url, response, policy, deadline)
                finally:
                    response.close()
                return
            response.close()
            deadline.check(url)
            try:
                url = urljoin(url, location)
            except ValueError:
                raise NetError("refused", f"malformed redirect from {redact_url(url)}") from None
            if response.status_code == 303 or (
                response.status_code in (301, 302) and method != "GET"
            ):
                method = "GET"
                body = {k: v for k, v in body.items() if k not in _BODY_ARGS}
            if on_redirect is not None:
                on_redirect(url)
        raise NetError(
            "too_many_redirects", f"{redact_url(url)}: more than {policy.max_redirects} redirects"
        )

    def request(
        self,
        method: str,
        url: str,
        policy: Policy,
        *,
        headers: dict[str, str] | None = None,
        **body: Any,
    ) -> Answer:
        """A whole request: redirects followed under `policy`, a 2xx body read under its cap."""
        with self.stream(method, url, policy, headers=headers, **body) as opened:
            data = opened.read() if 200 <= opened.status < 300 else b""
            return Answer(opened.url, opened.status, opened.headers, data)
