"""The stash-box GraphQL client (StashDB, FansDB, PMVStash, JAVStash): performers page by page.

Queries are plain strings here (`ALL_QUERIES`); a test validates each against the real stash-box
schema. How the real server answers, read from stash-box's source (github.com/stashapp/stash-box,
internal/auth/authorization.go, internal/service/query/helpers.go, internal/service/performer/
query.go, internal/service/edit/performer.go):
- a missing or wrong `ApiKey` runs the request as an anonymous user; the `@hasRole(role: READ)`
  check then fails with HTTP 200 and a GraphQL error "not authorized": `AuthError` here;
- `ApplyPagination` is LIMIT/OFFSET with no cap on `per_page`; CREATED_AT sorts by `created_at`
  alone (no tie-breaker), so pages may skip or repeat performers: `live_ids()` lists the ids and
  checks them against `count`, and `changed_since()` reads the changes in one page;
- a destroyed or merged performer is soft-deleted (its images and aliases dropped) and left out of
  `queryPerformers`; `findPerformer` still returns it with `deleted` and `merged_into_id`.
Other GraphQL errors are transient (`FetchError("graphql_error")`), except a query the schema
rejects (`graphql_invalid`); a body that is not JSON or lacks fields is `malformed` (transient).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any, Literal

from stash_sense.sources.endpoints import EndpointConfig
from stash_sense.sources.http import AuthError, FetchError, HttpSession, auth_message
from stash_sense.sources.session import endpoint_session
from stash_sense.sources.types import (
    LiveIds,
    PerformerPage,
    SourceImage,
    SourcePerformer,
    list_live_ids,
    page_through,
    parse_time,
)

log = logging.getLogger(__name__)

PERFORMER_FIELDS = """
fragment SenseImage on Image { id url width height }
fragment SensePerformer on Performer {
  id name disambiguation aliases gender birth_date country
  urls { url site { name } }
  images { ...SenseImage }
  merged_ids merged_into_id deleted created updated
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

PERFORMER_IDS_QUERY = """
query SensePerformerIds($input: PerformerQueryInput!) {
  queryPerformers(input: $input) { count performers { id } }
}
"""

ALL_QUERIES = {
    "performers": PERFORMER_PAGE_QUERY,
    "find_performer": FIND_PERFORMER_QUERY,
    "ids": PERFORMER_IDS_QUERY,
}
# stash-box's words for a failed role check (auth.ErrUnauthorized) and for a missing user
AUTH_ERRORS = ("not authorized", "unauthorized", "forbidden")
# gqlgen's codes for a query the schema rejects: our bug, not worth retrying
INVALID_QUERY_CODES = {"GRAPHQL_VALIDATION_FAILED", "GRAPHQL_PARSE_FAILED"}
IDS_PER_PAGE = 1000  # ids are small; ApplyPagination has no cap
MAX_CHANGES_PAGE = 20_000

Sort = Literal["CREATED_AT", "UPDATED_AT", "NAME"]


def performer_page_variables(
    page: int, per_page: int, sort: str = "CREATED_AT", direction: str = "ASC"
) -> dict[str, Any]:
    """The variables of `PERFORMER_PAGE_QUERY` for one page."""
    return {"input": {"page": page, "per_page": per_page, "sort": sort, "direction": direction}}


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
        merged_into=str(raw["merged_into_id"]) if raw.get("merged_into_id") else None,
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
            raise graphql_failure(self.endpoint.name, url, body["errors"])
        data = body.get("data")
        if not isinstance(data, dict):
            raise _malformed(url, "no data")
        return data

    def performer_page(
        self,
        page: int,
        *,
        sort: Sort = "CREATED_AT",
        direction: str = "ASC",
        per_page: int | None = None,
    ) -> PerformerPage:
        """One page of `queryPerformers` (oldest first unless told otherwise)."""
        per_page = per_page or self.page_size
        variables = performer_page_variables(page, per_page, sort, direction)
        data = self.graphql(PERFORMER_PAGE_QUERY, variables)
        result = data.get("queryPerformers")
        if not isinstance(result, dict) or not isinstance(result.get("performers"), list):
            raise _malformed(self.endpoint.url, "queryPerformers.performers missing")
        count = result.get("count")
        if not isinstance(count, int):
            raise _malformed(self.endpoint.url, "queryPerformers.count missing")
        performers = [parse_performer(p, self.endpoint.url) for p in result["performers"]]
        return PerformerPage(page, per_page, count, performers)

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

    def changed_since(self, since: datetime | None) -> Iterator[SourcePerformer]:
        """Performers updated at or after `since`, newest first, read in ONE page that grows
        until it reaches past `since`: paging UPDATED_AT while edits land would skip some."""
        per_page = self.page_size
        while True:
            page = self.performer_page(1, sort="UPDATED_AT", direction="DESC", per_page=per_page)
            oldest = parse_time(page.performers[-1].updated) if page.performers else None
            reached = since is None or oldest is None or oldest < since
            if reached or len(page.performers) >= page.count or per_page >= MAX_CHANGES_PAGE:
                break
            per_page = min(per_page * 4, MAX_CHANGES_PAGE)
        for performer in page.performers:
            updated = parse_time(performer.updated)
            if since is None or updated is None or updated >= since:
                yield performer

    def live_ids(self) -> LiveIds:
        """Every performer id the server lists now, checked against its `count`."""

        def ids_page(page: int) -> tuple[int, list[str]]:
            variables = performer_page_variables(page, IDS_PER_PAGE)
            result = self.graphql(PERFORMER_IDS_QUERY, variables).get("queryPerformers")
            if not isinstance(result, dict) or not isinstance(result.get("performers"), list):
                raise _malformed(self.endpoint.url, "queryPerformers.performers missing")
            ids = [
                str(p["id"]) for p in result["performers"] if isinstance(p, dict) and p.get("id")
            ]
            return int(result.get("count") or 0), ids

        return list_live_ids(ids_page, IDS_PER_PAGE)


def graphql_failure(source: str, url: str, errors: Any) -> AuthError | FetchError:
    """The exception for a GraphQL `errors` list: authorisation, an invalid query, or transient."""
    items = errors if isinstance(errors, list) else [errors]
    messages = [str(e.get("message") if isinstance(e, dict) else e) for e in items]
    codes = {
        str((e.get("extensions") or {}).get("code"))
        for e in items
        if isinstance(e, dict) and isinstance(e.get("extensions"), dict)
    }
    text = "; ".join(messages)[:200]
    if any(word in m.lower() for m in messages for word in AUTH_ERRORS):
        return AuthError(auth_message(source, f"{url} answered GraphQL error {text!r}"))
    if codes & INVALID_QUERY_CODES:
        return FetchError("graphql_invalid", f"{url}: the server rejects the query: {text}")
    return FetchError("graphql_error", f"{url}: GraphQL error: {text}")
