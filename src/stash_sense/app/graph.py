"""The identity graph's use cases: build a database's graph, list the links left for review,
accept or reject one (kept in the decisions file across rebuilds), explain an identity."""

from __future__ import annotations

from pathlib import Path

from stash_sense.app.errors import InvalidInput, NotFound, Unusable
from stash_sense.app.match_identity import identity_fields
from stash_sense.app.results import Result, StashId
from stash_sense.database import DatabaseError
from stash_sense.graph import (
    DecisionsError,
    Explained,
    GraphError,
    Link,
    Status,
    build_graph,
    explain,
    find_link,
    graph_paths,
    identity_for_stash_id,
    missing_records,
    record_decision,
    review_links,
)


class EvidenceResult(Result):
    kind: str
    weight: float
    detail: str


class LinkResult(Result):
    """Two records (keys `<endpoint>#<id>`), their evidence, score, status and why."""

    a: str
    b: str
    score: float
    status: str
    reason: str
    evidence: list[EvidenceResult]

    @classmethod
    def of(cls, link: Link) -> LinkResult:
        return cls(
            a=link.a,
            b=link.b,
            score=round(link.score, 3),
            status=link.status.value,
            reason=link.reason,
            evidence=[
                EvidenceResult(kind=e.kind.value, weight=round(e.weight, 3), detail=e.detail)
                for e in link.evidence
            ],
        )


class GraphBuildResult(Result):
    graph: str
    records: int
    identities: int
    multi_source: int
    links: dict[str, int]
    records_with_skipped_data: int
    decisions: int
    #: since the previous build: new_records, joined (records that joined an existing
    #: identity), splits, new_identities
    changes: dict[str, int]
    #: "full" (every record linked) or "incremental" (only new and changed records weighed)
    mode: str
    #: changed (records new or changed), removed, touched (records weighed again, with their
    #: candidates); incremental only: pairs (weighed), kept_links
    relinked: dict[str, int]
    link_seconds: float


class GraphRecordResult(Result):
    key: str
    endpoint: str
    source_id: str
    name: str
    aliases: list[str]
    country: str | None
    birthdate: str | None
    urls: list[str]
    image_count: int
    faces: int
    performer_id: int | None
    skipped: list[str]
    other_ids: list[list[str]]


class IdentityResult(Result):
    """One identity: its records (primary first), and the links among them."""

    id: str
    name: str
    primary: str
    #: every stash id of the identity across endpoints
    stash_ids: list[StashId]
    #: each endpoint's names for the identity (record name first, then aliases)
    names: dict[str, list[str]]
    #: every profile URL its records list
    urls: list[str]
    #: faces aggregated over every record
    faces: int
    #: the face database's performer rows behind it
    performer_ids: list[int]
    records: list[GraphRecordResult]
    links: list[LinkResult]

    @classmethod
    def of(cls, found: Explained) -> IdentityResult:
        records = sorted(found.records, key=lambda r: r.key != found.primary)
        return cls(
            **identity_fields(found),
            primary=found.primary,
            performer_ids=found.performer_ids(),
            records=[GraphRecordResult(**r.__dict__) for r in records],
            links=[LinkResult.of(lk) for lk in found.links],
        )


class ReviewResult(Result):
    links: list[LinkResult]


def _root(db: Path) -> Path:
    if not db.is_dir():
        raise InvalidInput(f"no face database folder at {db}")
    return db


def build_identity_graph(db: Path, *, full: bool = False) -> GraphBuildResult:
    """Link the database's performers into identities and write its graph file: after a first
    build only what changed is relinked, unless `full`."""
    try:
        summary = build_graph(_root(db), full=full)
    except (GraphError, DecisionsError, DatabaseError) as err:
        raise Unusable(str(err)) from None
    return GraphBuildResult(
        graph=str(summary.graph),
        records=summary.records,
        identities=summary.identities,
        multi_source=summary.multi_source,
        links=summary.links,
        records_with_skipped_data=summary.skipped,
        decisions=summary.decisions,
        changes=dict(summary.changes.__dict__),
        mode=summary.mode,
        relinked=summary.relinked,
        link_seconds=summary.link_seconds,
    )


def list_review(db: Path) -> ReviewResult:
    """The links left for a maintainer, strongest first."""
    try:
        return ReviewResult(
            links=[LinkResult.of(lk) for lk in review_links(graph_paths(_root(db))[0])]
        )
    except GraphError as err:
        raise Unusable(str(err)) from None


def decide_link(db: Path, a: str, b: str, accept: bool) -> LinkResult:
    """Record a maintainer's decision on the link between records `a` and `b`; it applies from
    the next `db graph build` on, and every one after."""
    graph_file, decisions_file = graph_paths(_root(db))
    try:
        link = find_link(graph_file, a, b)
        missing = missing_records(graph_file, [a, b]) if link is None else []
    except GraphError as err:
        raise Unusable(str(err)) from None
    if missing:
        raise NotFound(
            f"no record {', '.join(missing)} in the graph: record keys are <endpoint>#<id>, "
            "as `db graph review` and `db graph explain` print them"
        )
    if link is None:  # two records no evidence joined: the maintainer's word is the evidence
        x, y = sorted((a, b))
        link = Link(x, y, [], 0.0, Status.REVIEW, "no evidence; a maintainer's call")
    try:
        record_decision(decisions_file, a, b, accept)
    except (DecisionsError, OSError) as err:
        raise Unusable(f"cannot record the decision: {err}") from None
    return LinkResult.of(link)


def explain_identity(db: Path, ident: str) -> IdentityResult:
    """Why records are one identity: its records and each link, its evidence and score."""
    try:
        found = explain(graph_paths(_root(db))[0], ident)
    except GraphError as err:
        raise Unusable(str(err)) from None
    if found is None:
        raise NotFound(f"no identity, record or performer {ident!r} in the graph")
    return IdentityResult.of(found)


def identity_by_stash_id(db: Path, endpoint: str, stash_id: str) -> IdentityResult:
    """The identity holding one stash id of one endpoint, with every endpoint's ids of that
    person (what the performer page shows: the endpoints that have her)."""
    try:
        found = identity_for_stash_id(graph_paths(_root(db))[0], endpoint, stash_id)
    except GraphError as err:
        raise Unusable(str(err)) from None
    if found is None:
        raise NotFound(f"no record carries stash id {stash_id!r} of {endpoint} in the graph")
    return IdentityResult.of(found)
