"""The stash-box GraphQL client (StashDB, FansDB, PMVStash, JAVStash): performers page by page.

Queries are plain strings here (`PERFORMER_PAGE_QUERY`, `REMOVED_PERFORMERS_QUERY`); a test
validates each against the real stash-box schema. A malformed response (not JSON, GraphQL errors,
missing fields) raises `FetchError("malformed", ...)`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any, Literal

from stash_sense.sources.endpoints import EndpointConfig
from stash_sense.sources.http import FetchError, HttpSession
from stash_sense.sources.session import endpoint_session
from stash_sense.sources.types import (
    PerformerPage,
    RemovalEvent,
    SourceImage,
    SourcePerformer,
    page_through,
)

log = logging.getLogger(__name__)

PERFORMER_FIELDS = """
fragment SenseImage on Image { id url width height }
fragment SensePerformer on Performer {
  id name disambiguation aliases gender birth_date country
  urls { url site { name } }
  images { ...SenseImage }
  merged_ids deleted created updated
}
"""

PERFORMER_PAGE_QUERY = (
    """
query SensePerformers($input: PerformerQueryInput!) {
  queryPerformers(input: $input) { count performers { ...SensePerformer } }
}
"""
    + PERFORMER_FIELDS
)

FIND_PERFORMER_QUERY = (
    """
query SenseFindPerformer($id: ID!) { findPerformer(id: $id) { ...SensePerformer } }
"""
    + PERFORMER_FIELDS
)

REMOVED_PERFORMERS_QUERY = """
query SenseRemovedPerformers($input: EditQueryInput!) {
  queryEdits(input: $input) {
    count
    edits { id operation applied closed target { ... on Performer { id deleted } } }
  }
}
"""

ALL_QUERIES = {
    "performers": PERFORMER_PAGE_QUERY,
    "find_performer": FIND_PERFORMER_QUERY,
    "removed": REMOVED_PERFORMERS_QUERY,
}

Sort = Literal["CREATED_AT", "UPDATED_AT", "NAME"]


def performer_page_variables(
    page: int, per_page: int, sort: str = "CREATED_AT", direction: str = "ASC"
) -> dict[str, Any]:
    """The variables of `PERFORMER_PAGE_QUERY` for one page."""
    return {"input": {"page": page, "per_page": per_page, "sort": sort, "direction": direction}}


def removed_variables(page: int, per_page: int) -> dict[str, Any]:
    """The variables of `REMOVED_PERFORMERS_QUERY`: applied DESTROY edits, newest first."""
    return {
        "input": {
            "target_type": "PERFORMER",
            "operation": "DESTROY",
            "applied": True,
            "sort": "CLOSED_AT",
            "direction": "DESC",
            "page": page,
            "per_page": per_page,
        }
    }


def _malformed(url: str, what: str) -> FetchError:
    return FetchError("malformed", f"{url}: malformed GraphQL response ({what})")


def parse_performer(raw: Any, url: str = "stash-box") -> SourcePerformer:
    """A `Performer` object of the response, checked enough that nothing later trips on it."""
    if not isinstance(raw, dict) or not raw.get("id") or not isinstance(raw.get("name"), str):
        raise _malformed(url, "performer without id or name")
    images = []
    for img in raw.get("images") or []:
        if isinstance(img, dict) and isinstance(img.get("url"), str):
            images.append(
                SourceImage(
                    id=str(img.get("id") or img["url"]),
                    url=img["url"],
                    width=img.get("width"),
                    height=img.get("height"),
                )
            )
    urls: list[tuple[str, str | None]] = []
    for u in raw.get("urls") or []:
        if isinstance(u, dict) and isinstance(u.get("url"), str):
            site = u.get("site") if isinstance(u.get("site"), dict) else None
            urls.append((u["url"], site.get("name") if site else None))
    return SourcePerformer(
        id=str(raw["id"]),
        name=raw["name"],
        disambiguation=raw.get("disambiguation") or None,
        aliases=[a for a in raw.get("aliases") or [] if isinstance(a, str)],
        gender=raw.get("gender"),
        birthdate=raw.get("birth_date"),
        country=raw.get("country"),
        urls=urls,
        images=images,
        merged_ids=[str(m) for m in raw.get("merged_ids") or []],
        deleted=bool(raw.get("deleted")),
        created=raw.get("created"),
        updated=raw.get("updated"),
    )


class StashBoxClient:
    """Reads performers from one stash-box endpoint (header `ApiKey`)."""

    def __init__(self, endpoint: EndpointConfig, session: HttpSession | None = None) -> None:
        self.endpoint = endpoint
        key = endpoint.key_value()
        auth = {"ApiKey": key} if key else {}
        self.session = session or endpoint_session(endpoint, auth)
        self.page_size = endpoint.page_size

    def close(self) -> None:
        self.session.close()

    def graphql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        url = self.endpoint.url
        body = self.session.request_json("POST", url, json={"query": query, "variables": variables})
        if not isinstance(body, dict):
            raise _malformed(url, "body is not an object")
        if body.get("errors"):
            first = body["errors"][0]
            message = first.get("message") if isinstance(first, dict) else str(first)
            raise FetchError("graphql_error", f"{url}: GraphQL error: {message}")
        data = body.get("data")
        if not isinstance(data, dict):
            raise _malformed(url, "no data")
        return data

    def performer_page(
        self, page: int, *, sort: Sort = "CREATED_AT", direction: str = "ASC"
    ) -> PerformerPage:
        """One page of `queryPerformers`, sorted so paging is stable."""
        variables = performer_page_variables(page, self.page_size, sort, direction)
        data = self.graphql(PERFORMER_PAGE_QUERY, variables)
        result = data.get("queryPerformers")
        if not isinstance(result, dict) or not isinstance(result.get("performers"), list):
            raise _malformed(self.endpoint.url, "queryPerformers.performers missing")
        count = result.get("count")
        if not isinstance(count, int):
            raise _malformed(self.endpoint.url, "queryPerformers.count missing")
        performers = [parse_performer(p, self.endpoint.url) for p in result["performers"]]
        return PerformerPage(page, self.page_size, count, performers)

    def discover_page_size(self) -> int:
        """Ask for the configured page size; a server that caps it returns fewer: use that."""
        first = self.performer_page(1)
        if len(first.performers) < self.page_size and len(first.performers) < first.count:
            log.info(
                "%s: server caps per_page at %d (asked %d)",
                self.endpoint.name,
                len(first.performers),
                self.page_size,
            )
            self.page_size = len(first.performers)
        return self.page_size

    def iter_pages(
        self, start_page: int = 1, *, sort: Sort = "CREATED_AT", direction: str = "ASC"
    ) -> Iterator[PerformerPage]:
        return page_through(
            lambda page: self.performer_page(page, sort=sort, direction=direction),
            self.page_size,
            start_page,
        )

    def find_performer(self, stash_id: str) -> SourcePerformer | None:
        data = self.graphql(FIND_PERFORMER_QUERY, {"id": stash_id})
        raw = data.get("findPerformer")
        return None if raw is None else parse_performer(raw, self.endpoint.url)

    def removed_since(self, since: str | None) -> Iterator[RemovalEvent]:
        """Applied DESTROY edits of performers, newest first, down to `since` (ISO time)."""
        page = 1
        while True:
            variables = removed_variables(page, self.page_size)
            data = self.graphql(REMOVED_PERFORMERS_QUERY, variables)
            result = data.get("queryEdits")
            if not isinstance(result, dict) or not isinstance(result.get("edits"), list):
                raise _malformed(self.endpoint.url, "queryEdits.edits missing")
            for edit in result["edits"]:
                target = edit.get("target") if isinstance(edit, dict) else None
                closed = edit.get("closed") if isinstance(edit, dict) else None
                if since and closed and closed < since:
                    return
                if isinstance(target, dict) and target.get("id"):
                    yield RemovalEvent(str(target["id"]), closed)
            if not result["edits"] or page * self.page_size >= int(result.get("count") or 0):
                return
            page += 1
