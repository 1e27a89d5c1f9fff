"""The identity graph's data: a source record (one performer as one endpoint describes it), a
link between two records with its evidence and score, an identity (the records linked into one
person) and which record's metadata it shows (`primary_source` precedence, StashDB first)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

STASHDB = "https://stashdb.org/graphql"
THEPORNDB = "https://theporndb.net/graphql"
FANSDB = "https://fansdb.cc/graphql"
PMVSTASH = "https://pmvstash.org/graphql"
JAVSTASH = "https://javstash.org/graphql"
#: whose metadata an identity shows, first present wins; endpoints not listed come after, by name
DEFAULT_PRECEDENCE: tuple[str, ...] = (STASHDB, THEPORNDB, FANSDB, JAVSTASH, PMVSTASH)


@dataclass
class SourceRecord:
    """One performer as one source describes them. `source_id` is the endpoint's id (a stash
    id), or a local one (`db:<performer id>`) for a record that has none."""

    endpoint: str
    source_id: str
    name: str
    aliases: list[str] = field(default_factory=list)
    country: str | None = None
    birthdate: str | None = None
    urls: list[str] = field(default_factory=list)
    image_count: int = 0
    #: ids of the same person elsewhere that the source itself states, as (endpoint, id): a
    #: TPDB performer's StashDB link, ids on a performer row holding several endpoints' ids
    same_as: list[tuple[str, str]] = field(default_factory=list)
    #: ids merged into this record upstream (stash-box merge records), as (endpoint, id)
    merged_ids: list[tuple[str, str]] = field(default_factory=list)
    #: the record's face vectors per embedder, (n, dim) L2-normalised; not stored in the graph
    faces: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    #: the face database's performer row this record came from, if any
    performer_id: int | None = None

    @property
    def key(self) -> str:
        return record_key(self.endpoint, self.source_id)

    @property
    def face_count(self) -> int:
        return min((len(v) for v in self.faces.values()), default=0)


def record_key(endpoint: str, source_id: str) -> str:
    """A record's one-string name: `<endpoint>#<id>`."""
    return f"{endpoint}#{source_id}"


class Kind(StrEnum):
    """Kinds of evidence, strongest first."""

    ID = "id"
    URL = "url"
    NAME = "name"
    BIRTHDATE = "birthdate"
    COUNTRY = "country"
    FACE = "face"
    DECISION = "decision"


class Status(StrEnum):
    """What became of a link: accepted into an identity, left for review, or rejected."""

    ACCEPTED = "accepted"
    REVIEW = "review"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Evidence:
    """One piece of evidence about two records: its kind, its weight in the score (negative for
    conflicting evidence) and what it says ("twitter.com/jane_doe", "1990-01-02 vs 1991-01-02")."""

    kind: Kind
    weight: float
    detail: str

    @property
    def conflicts(self) -> bool:
        return self.weight < 0


@dataclass
class Link:
    """Two records (keys `a` < `b`), the evidence between them, its summed score, its status and
    why it has that status."""

    a: str
    b: str
    evidence: list[Evidence]
    score: float
    status: Status
    reason: str

    @property
    def kinds(self) -> set[Kind]:
        return {e.kind for e in self.evidence if e.weight > 0}


@dataclass
class Identity:
    """Records linked into one person; `primary` is the record whose metadata shows."""

    id: str
    records: list[SourceRecord]
    primary: SourceRecord

    @property
    def name(self) -> str:
        return self.primary.name

    def stash_ids(self) -> list[tuple[str, str]]:
        """Every (endpoint, id) of the identity, local ids left out."""
        seen: dict[tuple[str, str], None] = {}
        for rec in self.records:
            if not rec.source_id.startswith("db:"):
                seen[(rec.endpoint, rec.source_id)] = None
            for pair in (*rec.same_as, *rec.merged_ids):
                seen[pair] = None
        return list(seen)


def primary_record(
    records: list[SourceRecord], precedence: tuple[str, ...] = DEFAULT_PRECEDENCE
) -> SourceRecord:
    """The record whose metadata an identity shows: the first endpoint in `precedence`, then
    endpoints not listed by name; ties go to the record with more images, then the smaller key."""
    rank = {ep: i for i, ep in enumerate(precedence)}
    return min(
        records,
        key=lambda r: (rank.get(r.endpoint, len(rank)), r.endpoint, -r.image_count, r.key),
    )


def identity_id(keys: list[str]) -> str:
    """A stable name for the identity holding these records: a hash of its smallest key."""
    return "g" + hashlib.sha1(min(keys).encode()).hexdigest()[:11]
