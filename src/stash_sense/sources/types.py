"""Plain records that the source clients return: one performer with its images, source-neutral."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field


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
    merged_ids: list[str] = field(default_factory=list)
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
class RemovalEvent:
    """A performer removed from a stash-box (a DESTROY edit), seen by an incremental update."""

    stash_id: str
    closed: str | None


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
