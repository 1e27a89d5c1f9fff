"""Client for the user's Stash server: its GraphQL API (scenes, performers) and its files.

Every request goes to the configured Stash origin only: URLs that Stash hands back (sprites,
streams, performer images) are fetched only when they are on that same origin, and redirects are
followed only while they stay on it. The GraphQL documents it sends are in
`sources.stash_queries`.
"""

from __future__ import annotations

import base64
import json
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

from stash_sense.net import Closing, HttpClient, NetError, Opened, Policy, origin_of, redact_url
from stash_sense.sources.ratelimit import TokenBucket
from stash_sense.sources.stash_queries import (
    FIND_PERFORMER,
    FIND_PERFORMER_STAMPS,
    FIND_PERFORMERS_BY_IDS,
    FIND_PERFORMERS_BY_STASH_ID,
    FIND_PERFORMERS_PAGE,
    FIND_SCENE,
    FIND_SCENES_PAGE,
    QUERIES,
    VERSION,
)

__all__ = [
    "FIND_PERFORMER",
    "FIND_PERFORMERS_BY_STASH_ID",
    "FIND_SCENE",
    "FIND_SCENES_PAGE",
    "QUERIES",
    "VERSION",
    "OffHostError",
    "ScenePage",
    "SceneRef",
    "StashClient",
    "StashError",
    "StashId",
    "StashPerformer",
    "StashScene",
    "StashVideoFile",
]

MAX_REDIRECTS = 3
#: the largest GraphQL answer read (a findScene is a few KB; a 2 GB answer once took RSS to 2.1 GB)
MAX_GRAPHQL_BYTES = 16 * 1024 * 1024
#: the longest a whole GraphQL request may take (a body trickled at 1 byte/s held a worker 76 s)
GRAPHQL_DEADLINE_S = 20.0
#: the longest a whole file (sprite, VTT, performer image; at most 64 MiB) may take
FILE_DEADLINE_S = 120.0


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


@dataclass(frozen=True)
class SceneRef:
    """A scene as a page of `findScenes` lists it: enough to decide whether to scan it again."""

    id: str
    updated_at: str
    title: str | None = None
    date: str | None = None
    studio: str | None = None


@dataclass
class ScenePage:
    count: int
    scenes: list[SceneRef]


def _stash_ids(raw: list[dict[str, Any]] | None) -> list[StashId]:
    return [StashId(str(s["endpoint"]), str(s["stash_id"])) for s in raw or []]


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode()


class StashClient(Closing[HttpClient]):
    """Talks to one Stash server at `url` (e.g. http://localhost:9999), with an optional API key.

    A `user:password@` in the URL becomes HTTP Basic credentials sent, like the API key, only to
    that origin; the URL kept, shown and logged is the one without it. With a `limiter`, every
    request (GraphQL, file, stream check) first waits for one of its tokens.
    """

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        *,
        timeout: float = 15.0,
        deadline_s: float = GRAPHQL_DEADLINE_S,
        limiter: TokenBucket | None = None,
    ) -> None:
        self.limiter = limiter
        try:
            parts = urlsplit(url)
            origin_ok = origin_of(url) is not None
        except ValueError:
            origin_ok = False
        if not origin_ok:
            raise StashError(f"Stash URL must be http(s)://host[:port], got {redact_url(url)!r}")
        credentials = {"ApiKey": api_key} if api_key else {}
        if parts.username is not None:
            credentials["Authorization"] = _basic(parts.username, parts.password or "")
        netloc = parts.netloc.rpartition("@")[2]
        self.url = urlunsplit((parts.scheme, netloc, parts.path, "", "")).rstrip("/")
        self.api_key = api_key or None
        self.graphql_url = f"{self.url}/graphql"
        shown = redact_url(self.url)
        self._credentials = credentials
        self._graphql = Policy(
            origin=self.url, credentials=credentials, max_redirects=MAX_REDIRECTS,
            max_bytes=MAX_GRAPHQL_BYTES, deadline_s=deadline_s,
            refusal=f"not on the Stash host {shown}",
        )  # fmt: skip
        self._files = replace(self._graphql, deadline_s=FILE_DEADLINE_S)
        self._http = HttpClient(timeout_s=timeout)

    @property
    def auth_headers(self) -> dict[str, str]:
        """Headers to send to Stash (for ffmpeg reading the stream, through the relay)."""
        return dict(self._credentials)

    def is_on_host(self, url: str) -> bool:
        """True when `url` is an http(s) URL on the configured Stash origin."""
        return self._graphql.allows(url)

    def absolute(self, url: str) -> str:
        """Resolve a path Stash returned against the Stash URL (OffHostError if malformed)."""
        try:
            return urljoin(self.url + "/", url)
        except ValueError:
            raise OffHostError(f"malformed URL {redact_url(url)!r}") from None

    def query(self, document: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run one GraphQL operation; return `data` or raise StashError."""
        body = {"query": document, "variables": variables or {}}
        if self.limiter is not None:
            self.limiter.acquire()
        try:
            answer = self._http.request("POST", self.graphql_url, self._graphql, json=body)
        except NetError as err:
            raise StashError(f"cannot reach Stash at {redact_url(self.url)}: {err}") from None
        if answer.status in (401, 403):
            raise StashError(f"Stash refused the API key (HTTP {answer.status})")
        if answer.status != 200:
            raise StashError(f"Stash answered HTTP {answer.status} to a GraphQL request")
        try:
            parsed = json.loads(answer.body)
        except ValueError:
            raise StashError("Stash answered with something that is not JSON") from None
        if not isinstance(parsed, dict):
            raise StashError("Stash answered without data")
        if parsed.get("errors"):
            first = parsed["errors"][0]
            message = first.get("message", first) if isinstance(first, dict) else first
            raise StashError(f"Stash GraphQL error: {message}")
        data = parsed.get("data")
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

    def scene_page(
        self, scene_filter: dict[str, Any] | None, page: int, per_page: int
    ) -> ScenePage:
        """One page (from 1) of the scenes `scene_filter` picks, oldest `updated_at` first."""
        variables = {"scene_filter": scene_filter or {}, "page": page, "per_page": per_page}
        raw = self.query(FIND_SCENES_PAGE, variables).get("findScenes") or {}
        scenes = []
        for s in raw.get("scenes") or []:
            studio = s.get("studio") or {}
            scenes.append(
                SceneRef(
                    str(s["id"]), str(s.get("updated_at") or ""), s.get("title") or None,
                    s.get("date") or None, studio.get("name") or None,
                )
            )  # fmt: skip
        return ScenePage(int(raw.get("count") or 0), scenes)

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

    def performer_page(self, page: int, per_page: int = 100) -> tuple[int, list[dict[str, Any]]]:
        """(count, one page of local performers by id: id, name, disambiguation, image_path,
        scene_count, stash_ids)."""
        found = self.query(FIND_PERFORMERS_PAGE, {"page": page, "per_page": per_page})
        listed = found["findPerformers"]
        return int(listed.get("count") or 0), list(listed.get("performers") or [])

    def performer_stamps(
        self, page: int, per_page: int = 1000
    ) -> tuple[int, list[tuple[str, str]]]:
        """(count, one page of (id, updated_at) of local performers by id): what changed."""
        found = self.query(FIND_PERFORMER_STAMPS, {"page": page, "per_page": per_page})
        listed = found["findPerformers"]
        stamps = [(str(p["id"]), str(p["updated_at"])) for p in listed.get("performers") or []]
        return int(listed.get("count") or 0), stamps

    def performers_by_ids(self, ids: list[str]) -> list[dict[str, Any]]:
        """These local performers (as performer_page lists them, with updated_at)."""
        found = self.query(FIND_PERFORMERS_BY_IDS, {"ids": ids})
        return list(found["findPerformers"].get("performers") or [])

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

    def _open(
        self, url: str, headers: dict[str, str] | None = None
    ) -> AbstractContextManager[Opened]:
        target = self.absolute(url)
        if not self.is_on_host(target):
            raise OffHostError(f"refusing to fetch {redact_url(target)}: {self._files.refusal}")
        if self.limiter is not None:
            self.limiter.acquire()
        return self._http.stream("GET", target, self._files, headers=headers)

    def resolve(self, url: str) -> str:
        """The URL a Stash file finally lives at, following redirects only while on the host.

        Used before handing a stream URL to ffmpeg, which would otherwise follow redirects itself.
        """
        try:
            with self._open(url, {"Range": "bytes=0-0"}) as opened:
                if opened.status not in (200, 206):
                    shown = redact_url(opened.url)
                    raise StashError(f"Stash answered HTTP {opened.status} for {shown}")
                return opened.url
        except NetError as err:
            raise _stash_error(err) from None

    def fetch(self, url: str, *, max_bytes: int = 64 * 1024 * 1024) -> bytes:
        """GET a file from the Stash server (sprite, VTT, image); refuse any other host."""
        try:
            with self._open(url) as opened:
                if opened.status != 200:
                    shown = redact_url(opened.url)
                    raise StashError(f"Stash answered HTTP {opened.status} for {shown}")
                return opened.read(max_bytes)
        except NetError as err:
            raise _stash_error(err) from None


def _stash_error(err: NetError) -> StashError:
    """A refused hop is an OffHostError; anything else a StashError, both one line."""
    if err.reason == "refused":
        return OffHostError(str(err))
    return StashError(f"cannot fetch from Stash: {err}")
