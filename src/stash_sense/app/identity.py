"""The identity a performer's stash ids belong to: given one (endpoint, stash id) or a local
performer's stash ids, every endpoint the identity graph knows this person on, with the stash id,
names, profile URLs and picture of each (the plugin's performer panel, Add to Scene, health)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Self
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, model_validator

from stash_sense.app.errors import InvalidInput, NotFound, Unusable
from stash_sense.app.requests import Request
from stash_sense.app.results import Result, StashId
from stash_sense.graph import Explained, GraphError, graph_paths
from stash_sense.graph.lookup import (
    endpoint_key,
    identities_for,
    ids_with_records,
    known_endpoints,
)
from stash_sense.net import redact_url

#: A stash id as the stash-boxes and ThePornDB write them (UUIDs, numbers, slugs): no spaces,
#: slashes, quotes or control characters.
STASH_ID = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
#: The most stash ids one question may carry (a performer has a handful).
MAX_IDS = 50


def _web_url(value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http(s) URL of a stash-box GraphQL endpoint")
    return value.strip()


Endpoint = Annotated[str, Field(min_length=1, max_length=2048), AfterValidator(_web_url)]
StashIdText = Annotated[str, Field(pattern=STASH_ID, description="a stash-box id")]


class StashIdIn(Request):
    endpoint: Endpoint
    stash_id: StashIdText


class IdentityRequest(Request):
    """One stash id (`endpoint` and `stash_id`) or a local performer's `stash_ids`."""

    endpoint: Endpoint | None = None
    stash_id: StashIdText | None = None
    stash_ids: list[StashIdIn] = Field(default_factory=list, max_length=MAX_IDS)

    @model_validator(mode="after")
    def one_form(self) -> Self:
        single = self.endpoint is not None or self.stash_id is not None
        if single and (self.endpoint is None or self.stash_id is None):
            raise ValueError("give both endpoint and stash_id, or stash_ids")
        if single == bool(self.stash_ids):
            raise ValueError("give either endpoint and stash_id, or stash_ids (not both)")
        return self

    def pairs(self) -> list[tuple[str, str]]:
        if self.endpoint is not None and self.stash_id is not None:
            return [(self.endpoint, self.stash_id)]
        return [(s.endpoint, s.stash_id) for s in self.stash_ids]


class IdentitySource(Result):
    """The person on one endpoint: the stash id, and the names, URLs and picture of the record
    that holds it (`image`: the sidecar's path to the picture, when the database has one)."""

    endpoint: str
    stash_id: str
    name: str
    aliases: list[str]
    urls: list[str]
    performer_id: int | None
    image: str | None


class IdentityAnswer(Result):
    """The identity: every stash id it has across endpoints (`sources`, primary first), and which
    of the asked ids it holds (`matched`), which belong to another identity (`elsewhere`) and which
    the graph does not know (`unknown`)."""

    id: str
    name: str
    stash_ids: list[StashId]
    sources: list[IdentitySource]
    matched: list[StashId]
    elsewhere: list[StashId]
    unknown: list[StashId]


def _sources(found: Explained) -> list[IdentitySource]:
    return [
        IdentitySource(
            endpoint=endpoint,
            stash_id=stash_id,
            name=r.name,
            aliases=r.aliases,
            urls=r.urls,
            performer_id=r.performer_id,
            image=(
                f"/images/{r.performer_id}"
                if r.performer_id is not None and r.image_count
                else None
            ),
        )
        for endpoint, stash_id, r in ids_with_records(found)
    ]


def identity_for(db_root: Path, request: IdentityRequest) -> IdentityAnswer:
    """The identity of the asked stash id(s) in the graph of the face database at `db_root`."""
    graph_file = graph_paths(db_root)[0]
    pairs = request.pairs()
    try:
        known = known_endpoints(graph_file)
        found = identities_for(graph_file, pairs)
    except GraphError as err:
        raise Unusable(str(err)) from None
    knows = {endpoint_key(e) for e in known}
    if request.endpoint is not None and endpoint_key(request.endpoint) not in knows:
        raise InvalidInput(
            f"{redact_url(request.endpoint)} is no endpoint of the face database's identity graph "
            f"(it knows {', '.join(sorted(known)) or 'none: it holds no stash id'})"
        )
    explained = next((i for i in found if i is not None), None)
    if explained is None:
        asked = ", ".join(f"{sid} on {redact_url(ep)}" for ep, sid in pairs[:3])
        raise NotFound(f"the identity graph has no performer with stash id {asked}")
    first = explained.id
    sources = _sources(explained)

    def ids(keep: Callable[[str | None], bool]) -> list[StashId]:
        return [
            StashId(endpoint=ep, stash_id=sid)
            for (ep, sid), ident in zip(pairs, found, strict=True)
            if keep(None if ident is None else ident.id)
        ]

    return IdentityAnswer(
        id=explained.id,
        name=explained.name,
        stash_ids=[StashId(endpoint=s.endpoint, stash_id=s.stash_id) for s in sources],
        sources=sources,
        matched=ids(lambda i: i == first),
        elsewhere=ids(lambda i: i not in (None, first)),
        unknown=ids(lambda i: i is None),
    )
