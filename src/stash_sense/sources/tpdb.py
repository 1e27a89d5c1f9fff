"""The ThePornDB client: performers page by page over its REST API (Bearer token), with posters.

Field names and parameters as ThePornDB publishes them (https://api.theporndb.net/docs), checked
against public clients of the API: the TypeScript types "Based on ThePornDB API v3.24.582" (a
`TPDBPerformer` with `extras.links: [{url, platform}]`, `posters: [{id, url, size, order}]`,
`aliases: string[]`, and `order_by: "name" | "rating" | "created" | "updated"` for performers) and
carrotwaxr/stash-sense's Python client (`extras.links` read as `{"StashDB": url}`, `meta.total`).
So: `GET /performers?page=N&per_page=M&order_by=created` answers `{"data": [...], "meta":
{"current_page", "last_page", "per_page", "total"}}`; `GET /performers/{id}` answers `{"data":
{...}}` or 404; external links sit under `extras.links` (a list of `{url, platform}` or a
name->url object: both are read). Links to a stash-box performer page
(`https://stashdb.org/performers/<uuid>`) become stash ids of that stash-box, so a performer found
on both is linked by explicit ids only. The published performer has no created/updated times, so
`changed_since()` cannot narrow anything down and lists everyone (images already processed are
not fetched again).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from stash_sense.sources.endpoints import EndpointConfig
from stash_sense.sources.http import FetchError, HttpSession
from stash_sense.sources.session import endpoint_session
from stash_sense.sources.types import (
    LiveIds,
    PerformerPage,
    SourceImage,
    SourcePerformer,
    list_live_ids,
    page_through,
)

ORDER_BY = {"CREATED_AT": "created", "UPDATED_AT": "updated", "NAME": "name"}

STASHBOX_PERFORMER_LINK = re.compile(
    r"^(https?://[^/]+)/performers/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/?$"
)
KNOWN_STASHBOX_HOSTS = {"stashdb.org", "fansdb.cc", "pmvstash.org", "javstash.org"}


def stash_ids_from_links(links: Any) -> list[tuple[str, str]]:
    """(endpoint, stash_id) for every link to a known stash-box's performer page."""
    urls: list[str] = []
    if isinstance(links, dict):
        urls = [v for v in links.values() if isinstance(v, str)]
    elif isinstance(links, list):
        for item in links:
            if isinstance(item, str):
                urls.append(item)
            elif isinstance(item, dict) and isinstance(item.get("url"), str):
                urls.append(item["url"])
    found: list[tuple[str, str]] = []
    for url in urls:
        match = STASHBOX_PERFORMER_LINK.match(url.strip())
        if match and urlsplit(match.group(1)).netloc in KNOWN_STASHBOX_HOSTS:
            found.append((match.group(1) + "/graphql", match.group(2)))
    return found


def parse_tpdb_performer(raw: Any, url: str = "tpdb") -> SourcePerformer:
    if not isinstance(raw, dict) or not raw.get("id") or not isinstance(raw.get("name"), str):
        raise FetchError("malformed", f"{url}: performer without id or name")
    extras: dict[str, Any] = raw["extras"] if isinstance(raw.get("extras"), dict) else {}
    images: list[SourceImage] = []
    posters = [p for p in raw.get("posters") or [] if isinstance(p, dict) and p.get("url")]
    posters.sort(key=lambda p: (p.get("order") is None, p.get("order") or 0))
    for poster in posters:
        images.append(SourceImage(id=str(poster.get("id") or poster["url"]), url=poster["url"]))
    if not images and isinstance(raw.get("image"), str) and raw["image"]:
        images.append(SourceImage(id=raw["image"], url=raw["image"]))
    aliases = raw.get("aliases") or []
    if isinstance(aliases, str):
        aliases = [a.strip() for a in aliases.split(",") if a.strip()]
    gender = extras.get("gender")
    return SourcePerformer(
        id=str(raw["id"]),
        name=raw["name"],
        disambiguation=raw.get("disambiguation") or None,
        aliases=[a for a in aliases if isinstance(a, str)],
        gender=gender.upper().replace(" ", "_") if isinstance(gender, str) else None,
        birthdate=extras.get("birthday"),
        country=extras.get("birthplace_code") or extras.get("nationality"),
        urls=[(u, None) for u in _link_urls(extras.get("links"))],
        images=images,
        other_stash_ids=stash_ids_from_links(extras.get("links")),
    )


def _link_urls(links: Any) -> list[str]:
    if isinstance(links, dict):
        return [v for v in links.values() if isinstance(v, str)]
    if isinstance(links, list):
        urls = [x if isinstance(x, str) else x.get("url") for x in links if x]
        return [u for u in urls if isinstance(u, str)]
    return []


class TpdbClient:
    """Reads performers from ThePornDB (header `Authorization: Bearer <token>`)."""

    def __init__(self, endpoint: EndpointConfig, session: HttpSession | None = None) -> None:
        self.endpoint = endpoint
        key = endpoint.key_value()
        auth = {"Authorization": f"Bearer {key}"} if key else {}
        self.session = session or endpoint_session(endpoint, auth)
        self.page_size = endpoint.page_size

    def close(self) -> None:
        self.session.close()

    def performer_page(self, page: int, *, sort: str = "CREATED_AT") -> PerformerPage:
        url = f"{self.endpoint.url}/performers"
        params = {"page": page, "per_page": self.page_size, "order_by": ORDER_BY[sort]}
        body = self.session.request_json("GET", url, params=params)
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            raise FetchError("malformed", f"{url}: response has no data list")
        meta: dict[str, Any] = body["meta"] if isinstance(body.get("meta"), dict) else {}
        total = meta.get("total")
        performers = [parse_tpdb_performer(p, url) for p in body["data"]]
        per_page = int(meta.get("per_page") or self.page_size)
        count = int(total) if isinstance(total, int) else (page - 1) * per_page + len(performers)
        return PerformerPage(page, per_page, count, performers)

    def discover_page_size(self) -> int:
        first = self.performer_page(1)
        self.page_size = min(self.page_size, first.per_page)
        return self.page_size

    def iter_pages(
        self, start_page: int = 1, *, sort: str = "CREATED_AT"
    ) -> Iterator[PerformerPage]:
        return page_through(
            lambda page: self.performer_page(page, sort=sort), self.page_size, start_page
        )

    def changed_since(self, since: datetime | None) -> Iterator[SourcePerformer]:
        """Everyone, most recently updated first: performers carry no times to narrow it down."""
        for page in self.iter_pages(sort="UPDATED_AT"):
            yield from page.performers

    def live_ids(self) -> LiveIds:
        def ids_page(page: int) -> tuple[int, list[str]]:
            got = self.performer_page(page)
            return got.count, [p.id for p in got.performers]

        return list_live_ids(ids_page, self.page_size)

    def find_performer(self, source_id: str) -> SourcePerformer | None:
        url = f"{self.endpoint.url}/performers/{source_id}"
        try:
            body = self.session.request_json("GET", url)
        except FetchError as exc:
            if exc.reason == "http_404":
                return None
            raise
        data = body.get("data") if isinstance(body, dict) else None
        return None if data is None else parse_tpdb_performer(data, url)
