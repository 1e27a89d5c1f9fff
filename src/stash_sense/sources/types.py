"""What every source client returns and promises: plain, source-neutral records (a performer
with its images, a page, the ids listed now) and the `SourceClient` protocol the builder reads."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from stash_sense.sources.endpoints import EndpointConfig
    from stash_sense.sources.http import HttpSession


def parse_time(value: str | None) -> datetime | None:
    """An ISO time as the sources write it ("...Z" or with an offset); None if unreadable."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class SourceImage:
    """One image of a performer as the source lists it."""

    id: str
    url: str
    width: int | None = None
    height: int | None = None


@dataclass
class SourcePerformer:
    """A performer read from a stash-box or ThePornDB, in the fields the database keeps."""

    id: str
    name: str
    disambiguation: str | None = None
    aliases: list[str] = field(default_factory=list)
    gender: str | None = None
    birthdate: str | None = None
    country: str | None = None
    urls: list[tuple[str, str | None]] = field(default_factory=list)
    images: list[SourceImage] = field(default_factory=list)
    merged_ids: list[str] = field(default_factory=list)  # ids merged into this one upstream
    merged_into: str | None = None  # set on a merged-away (deleted) performer
    deleted: bool = False
    created: str | None = None
    updated: str | None = None
    # ids of the same performer on other stash-boxes, as (endpoint, stash_id)
    other_stash_ids: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class PerformerPage:
    """One page of performers and the total the server reports."""

    page: int
    per_page: int
    count: int
    performers: list[SourcePerformer]


@dataclass(frozen=True)
class LiveIds:
    """The ids a source lists now; `consistent` when one listing matched its `count` exactly."""

    count: int
    ids: frozenset[str]
    consistent: bool


class SourceClient(Protocol):
    """What the builder needs of a source; stash-box and ThePornDB clients implement it."""

    endpoint: EndpointConfig
    session: HttpSession
    page_size: int

    def performer_page(self, page: int) -> PerformerPage:
        """One page in the source's most stable order (oldest first)."""
        ...

    def discover_page_size(self) -> int: ...

    def changed_since(self, since: datetime | None) -> Iterator[SourcePerformer]:
        """Performers that may have changed at or after `since` (all when it cannot tell)."""
        ...

    def live_ids(self) -> LiveIds: ...

    def find_performer(self, source_id: str) -> SourcePerformer | None:
        """One performer by id, deleted or merged ones included; None when unknown."""
        ...

    def close(self) -> None: ...


def list_live_ids(
    ids_page: Callable[[int], tuple[int, list[str]]], per_page: int, listings: int = 3
) -> LiveIds:
    """List every id by pages of `per_page`, up to `listings` times until one listing holds
    exactly `count` distinct ids with every page reporting the same count (offset paging over a
    sort without tie-breaker, or with deletions under way, skips some and repeats others). The
    union of the listings is returned either way: ids listed but gone are checked one by one."""
    union: set[str] = set()
    count = 0
    for _ in range(listings):
        seen: list[str] = []
        counts: set[int] = set()
        page = 1
        while True:
            count, ids = ids_page(page)
            counts.add(count)
            seen.extend(ids)
            if len(ids) < per_page or page * per_page >= count:
                break
            page += 1
        union.update(seen)
        if len(counts) == 1 and len(set(seen)) == len(seen) == count:
            return LiveIds(count, frozenset(seen), True)
    return LiveIds(count, frozenset(union), False)


def page_through(
    fetch_page: Callable[[int], PerformerPage], page_size: int, start_page: int = 1
) -> Iterator[PerformerPage]:
    """Every page from `start_page` on, until one comes back empty or the count is reached."""
    page = start_page
    while True:
        result = fetch_page(page)
        yield result
        if not result.performers or page * page_size >= result.count:
            return
        page += 1
