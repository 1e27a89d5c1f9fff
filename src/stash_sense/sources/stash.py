"""Client for the user's Stash server: its GraphQL API (scenes, performers) and its files.

Every request goes to the configured Stash origin only: URLs that Stash hands back (sprites,
streams, performer images) are fetched only when they are on that same origin, and redirects are
followed only while they stay on it. The GraphQL documents are module constants so a test can
validate each one against the real Stash schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from stash_sense.sources.redact import redact_url

FIND_SCENE = """
query FindScene($id: ID!) {
  findScene(id: $id) {
    id
    title
    paths { screenshot stream sprite vtt }
    files { path duration width height }
    performers { id name stash_ids { endpoint stash_id } }
  }
}
"""

FIND_PERFORMER = """
query FindPerformer($id: ID!) {
  findPerformer(id: $id) {
    id
    name
    image_path
    stash_ids { endpoint stash_id }
  }
}
"""

FIND_PERFORMERS_BY_STASH_ID = """
query FindPerformersByStashId($endpoint: String!, $stash_id: String!) {
  findPerformers(
    performer_filter: {
      stash_id_endpoint: {endpoint: $endpoint, stash_id: $stash_id, modifier: EQUALS}
    }
    filter: {per_page: 2}
  ) {
    count
    performers { id name }
  }
}
"""

VERSION = """
query Version {
  version { version }
}
"""

QUERIES: dict[str, str] = {
    "FindScene": FIND_SCENE,
    "FindPerformer": FIND_PERFORMER,
    "FindPerformersByStashId": FIND_PERFORMERS_BY_STASH_ID,
    "Version": VERSION,
}

MAX_REDIRECTS = 3


class StashError(RuntimeError):
    """Stash could not be reached, refused the request, or answered with GraphQL errors."""


class OffHostError(StashError):
    """A URL (or a redirect) points somewhere other than the configured Stash server."""


@dataclass(frozen=True)
class StashId:
    endpoint: str
    stash_id: str


@dataclass
class StashPerformer:
    id: str
    name: str
    stash_ids: list[StashId] = field(default_factory=list)
    image_path: str | None = None


@dataclass
class StashVideoFile:
    path: str
    duration: float
    width: int
    height: int


@dataclass
class StashScene:
    """What the scene pipeline needs to know about a Stash scene."""

    id: str
    title: str | None
    sprite: str | None
    vtt: str | None
    stream: str | None
    screenshot: str | None
    files: list[StashVideoFile]
    performers: list[StashPerformer]


def _origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of a URL, or None when it has no valid one (e.g. port 99999)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    default = 443 if scheme == "https" else 80
    return scheme, (parts.hostname or "").lower(), port or default


def _stash_ids(raw: list[dict[str, Any]] | None) -> list[StashId]:
    return [StashId(str(s["endpoint"]), str(s["stash_id"])) for s in raw or []]


class StashClient:
    """Talks to one Stash server at `url` (e.g. http://localhost:9999), with an optional API key."""

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        *,
        timeout: float = 15.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise StashError(f"Stash URL must be http(s)://host[:port], got {url!r}")
        self.url = url.rstrip("/")
        self.api_key = api_key or None
        self.graphql_url = f"{self.url}/graphql"
        headers = {"ApiKey": self.api_key} if self.api_key else {}
        self._http = httpx.Client(
            headers=headers, timeout=timeout, follow_redirects=False, transport=transport
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> StashClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def auth_headers(self) -> dict[str, str]:
        """Headers to send to Stash (for ffmpeg reading the stream)."""
        return {"ApiKey": self.api_key} if self.api_key else {}

    def is_on_host(self, url: str) -> bool:
        """True when `url` is an http(s) URL on the configured Stash origin."""
        try:
            scheme = urlsplit(url).scheme
        except ValueError:
            return False
        return scheme in ("http", "https") and _origin(url) == _origin(self.url)

    def absolute(self, url: str) -> str:
        """Resolve a path Stash returned against the Stash URL (OffHostError if malformed)."""
        try:
            return urljoin(self.url + "/", url)
        except ValueError:
            raise OffHostError(f"malformed URL {redact_url(url)!r}") from None

    def query(self, document: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run one GraphQL operation; return `data` or raise StashError."""
        try:
            resp = self._http.post(
                self.graphql_url, json={"query": document, "variables": variables or {}}
            )
        except httpx.HTTPError as exc:
            raise StashError(f"cannot reach Stash at {redact_url(self.url)}: {exc}") from exc
        if resp.status_code in (401, 403):
            raise StashError(f"Stash refused the API key (HTTP {resp.status_code})")
        if resp.status_code != 200:
            raise StashError(f"Stash answered HTTP {resp.status_code} to a GraphQL request")
        try:
            body = resp.json()
        except ValueError as exc:
            raise StashError("Stash answered with something that is not JSON") from exc
        if body.get("errors"):
            first = body["errors"][0]
            message = first.get("message", first) if isinstance(first, dict) else first
            raise StashError(f"Stash GraphQL error: {message}")
        data = body.get("data")
        if not isinstance(data, dict):
            raise StashError("Stash answered without data")
        return data

    def find_scene(self, scene_id: str) -> StashScene | None:
        raw = self.query(FIND_SCENE, {"id": str(scene_id)}).get("findScene")
        if raw is None:
            return None
        paths = raw.get("paths") or {}
        return StashScene(
            id=str(raw["id"]),
            title=raw.get("title"),
            sprite=paths.get("sprite") or None,
            vtt=paths.get("vtt") or None,
            stream=paths.get("stream") or None,
            screenshot=paths.get("screenshot") or None,
            files=[
                StashVideoFile(
                    str(f["path"]),
                    float(f.get("duration") or 0),
                    int(f.get("width") or 0),
                    int(f.get("height") or 0),
                )
                for f in raw.get("files") or []
            ],
            performers=[
                StashPerformer(str(p["id"]), str(p["name"]), _stash_ids(p.get("stash_ids")))
                for p in raw.get("performers") or []
            ],
        )

    def find_performer(self, performer_id: str) -> StashPerformer | None:
        raw = self.query(FIND_PERFORMER, {"id": str(performer_id)}).get("findPerformer")
        if raw is None:
            return None
        return StashPerformer(
            str(raw["id"]),
            str(raw["name"]),
            _stash_ids(raw.get("stash_ids")),
            raw.get("image_path") or None,
        )

    def performer_by_stash_id(self, endpoint: str, stash_id: str) -> StashPerformer | None:
        """The local performer linked to (endpoint, stash_id), if exactly one is."""
        found = self.query(
            FIND_PERFORMERS_BY_STASH_ID, {"endpoint": endpoint, "stash_id": stash_id}
        )["findPerformers"]
        performers = found.get("performers") or []
        if len(performers) != 1:
            return None
        p = performers[0]
        return StashPerformer(str(p["id"]), str(p["name"]), [StashId(endpoint, stash_id)])

    def _next(self, target: str, location: str) -> str:
        try:
            return urljoin(target, location)
        except ValueError:
            raise OffHostError(f"malformed redirect from {redact_url(target)}") from None

    def resolve(self, url: str) -> str:
        """The URL a Stash file finally lives at, following redirects only while on the host.

        Used before handing a stream URL to ffmpeg, which would otherwise follow redirects itself.
        """
        target = self.absolute(url)
        for _ in range(MAX_REDIRECTS + 1):
            if not self.is_on_host(target):
                raise OffHostError(
                    f"refusing to fetch {redact_url(target)}: not on the Stash host"
                    f" {redact_url(self.url)}"
                )
            try:
                with self._http.stream("GET", target, headers={"Range": "bytes=0-0"}) as resp:
                    if resp.is_redirect:
                        target = self._next(target, resp.headers.get("location", ""))
                        continue
                    if resp.status_code not in (200, 206):
                        raise StashError(
                            f"Stash answered HTTP {resp.status_code} for {redact_url(target)}"
                        )
                    return target
            except httpx.HTTPError as exc:
                raise StashError(
                    f"cannot fetch {redact_url(target)} from Stash: {type(exc).__name__}"
                ) from exc
        raise StashError(f"too many redirects fetching {redact_url(url)}")

    def fetch(self, url: str, *, max_bytes: int = 64 * 1024 * 1024) -> bytes:
        """GET a file from the Stash server (sprite, VTT, image); refuse any other host."""
        target = self.absolute(url)
        for _ in range(MAX_REDIRECTS + 1):
            if not self.is_on_host(target):
                raise OffHostError(
                    f"refusing to fetch {redact_url(target)}: not on the Stash host"
                    f" {redact_url(self.url)}"
                )
            try:
                with self._http.stream("GET", target) as resp:
                    if resp.is_redirect:
                        target = self._next(target, resp.headers.get("location", ""))
                        continue
                    if resp.status_code != 200:
                        raise StashError(
                            f"Stash answered HTTP {resp.status_code} for {redact_url(target)}"
                        )
                    chunks: list[bytes] = []
                    size = 0
                    for chunk in resp.iter_bytes():
                        size += len(chunk)
                        if size > max_bytes:
                            raise StashError(
                                f"{redact_url(target)} is larger than {max_bytes} bytes"
                            )
                        chunks.append(chunk)
                    return b"".join(chunks)
            except httpx.HTTPError as exc:
                raise StashError(
                    f"cannot fetch {redact_url(target)} from Stash: {type(exc).__name__}"
                ) from exc
        raise StashError(f"too many redirects fetching {redact_url(url)}")
