"""The security policy of an outbound request, as data: where its hops may go, which hop gets the
credentials, how many redirects, how many bytes, how long in all, and which content types."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from urllib.parse import urlsplit

Origin = tuple[str, str, int]


def origin_of(url: str) -> Origin | None:
    """(scheme, host, port) of an http(s) URL, or None when it has no valid one (port 99999)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port or (443 if scheme == "https" else 80)


class Scope(Enum):
    """Which hosts a request (and each of its redirects) may reach."""

    ORIGIN = "origin"  # the exact origin (scheme, host, port) and nothing else
    HOSTS = "hosts"  # the listed hosts and their subdomains
    ANY = "any"  # any http(s) host; the credentials still go to the origin only


@dataclass(frozen=True)
class Policy:
    """Rules every hop of one request is checked against.

    `origin` is where `credentials` (Authorization, ApiKey, cookies: whole headers) are sent, and
    only there, on the first hop or a redirect. `refusal` ends the message of a refused hop
    ("refusing <url>: <refusal>"). `deadline_s` bounds the whole request, redirects and body
    included (None: only each read is bounded, for large downloads). `content_types` are accepted
    prefixes of the Content-Type (empty: any).
    """

    scope: Scope = Scope.ORIGIN
    origin: str | None = None
    hosts: frozenset[str] = frozenset()
    credentials: Mapping[str, str] = field(default_factory=dict, repr=False)
    max_redirects: int = 5
    max_bytes: int = 16 * 1024 * 1024
    deadline_s: float | None = 60.0
    content_types: tuple[str, ...] = ()
    refusal: str = "not an allowed host"

    def allows(self, url: str) -> bool:
        """Whether a hop may go to `url`."""
        target = origin_of(url)
        if target is None:
            return False
        if self.scope is Scope.ANY:
            return True
        if self.scope is Scope.HOSTS:
            host = target[1]
            return any(host == h or host.endswith(f".{h}") for h in self.hosts)
        return self.origin is not None and target == origin_of(self.origin)

    def credentials_for(self, url: str) -> dict[str, str]:
        """The credential headers for a hop to `url`: all of them on the origin, none elsewhere."""
        if self.credentials and self.origin and origin_of(url) == origin_of(self.origin):
            return dict(self.credentials)
        return {}

    def accepts_type(self, content_type: str) -> bool:
        """Whether a body of this Content-Type may be read (a missing one is left to the caller,
        which checks the bytes themselves)."""
        kind = content_type.split(";")[0].strip().lower()
        return not (kind and self.content_types) or kind.startswith(self.content_types)
