"""The library scan's requests and results, as pydantic models (the sidecar's bodies and
answers, `/docs`, and `stash-sense scan --json`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from stash_sense.app.requests import Request
from stash_sense.app.results import Result, StashId
from stash_sense.matching.tiers import Tier

Scope = Literal["untagged", "all", "since"]
Kind = Literal["apply", "reject"]
#: RFC 3339 or YYYY-MM-DD (what Stash's filters parse)
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?)?$"


class ScanRequest(Request):
    """Start (or resume) a scan: scenes without performers by default, all scenes, or scenes
    edited since a date; `restart` begins a new scan instead of resuming the last one;
    `new_only`: after a finished scan of the same scope, list only the scenes Stash added or
    edited since it (from its watermark) instead of the whole scope again."""

    scope: Scope = "untagged"
    since: str | None = Field(None, pattern=DATE_PATTERN, max_length=40)
    frames: int = Field(40, ge=1, le=400)
    restart: bool = False
    new_only: bool = False


class SuggestionsQuery(Request):
    """Filters and paging of the suggestions list."""

    lowest_tier: Tier = "possible"
    studio: str | None = Field(None, max_length=256)
    date_from: str | None = Field(None, pattern=r"^\d{4}-\d{2}-\d{2}$")
    date_to: str | None = Field(None, pattern=r"^\d{4}-\d{2}-\d{2}$")
    has_suggestion: bool | None = True
    preselected_only: bool = False
    min_frames: int | None = Field(None, ge=1, le=400)
    offset: int = Field(0, ge=0, le=10_000_000)
    limit: int = Field(50, ge=1, le=500)


class DecisionRequest(Request):
    """Apply ("this is them": the page has added them in Stash) or reject ("not this person")
    one candidate of one person of a scene."""

    kind: Kind
    scene_id: str = Field(min_length=1, max_length=64)
    person_id: int = Field(ge=0, le=10_000)
    performer_id: int = Field(ge=0, le=2**63 - 1)


class ScanStatus(Result):
    """Where the latest scan stands; `rate_per_hour` and `eta_s` are this run's (None before
    a scene is done)."""

    running: bool
    scan_id: int | None
    status: str | None  # running, paused, done, stopped
    reason: str | None
    scope: str | None
    since: str | None
    total: int
    done: int
    failed: int
    scanned_this_run: int
    rate_per_hour: float | None
    eta_s: float | None
    current_scene: str | None
    #: the sidecar's scan schedule (STASH_SENSE_SCAN_SCHEDULE) and when it next looks, as a Unix
    #: time (None when off, or from the command line)
    schedule: str | None = None
    next_scheduled_at: float | None = None


class CandidateOut(Result):
    performer_id: int
    name: str
    disambiguation: str | None
    distance: float
    tier: str
    stash_ids: list[StashId]
    image_url: str | None
    stash_performer_id: str | None
    applied: bool


class PersonOut(Result):
    person_id: int
    frames: int
    times: list[float]
    face_jpeg: str | None
    candidates: list[CandidateOut]
    preselected: int | None  # the performer_id pre-selected, if any


class SceneOut(Result):
    scene_id: str
    title: str | None
    date: str | None
    studio: str | None
    persons: list[PersonOut]


class SuggestionPage(Result):
    total: int
    offset: int
    scenes: list[SceneOut]


class UndoRequest(Request):
    """Undo one decision by id; without one, the latest still in force."""

    id: int | None = Field(None, ge=1, le=2**63 - 1)


class DecisionOut(Result):
    id: int
    kind: str
    scene_id: str
    person_id: int | None
    performer_id: int | None
    name: str
    stash_ids: list[StashId]
    distance: float | None
    tier: str | None
    created_at: float
    undone_at: float | None


class DecisionList(Result):
    decisions: list[DecisionOut]


class ReportPerformer(Result):
    name: str
    performer_id: int | None
    stash_ids: list[StashId]
    rejections: int
    scenes: int
    distances: list[float]


class ReportRange(Result):
    min_distance: float
    max_distance: float
    rejections: int


class RejectionReport(Result):
    """Where rejections cluster: the negative-mining input for calibration."""

    rejections: int
    by_performer: list[ReportPerformer]
    by_tier: dict[str, int]
    by_distance: list[ReportRange]
    #: per embedder, the rejections by that embedder's distance (decisions made since the scan
    #: kept per-embedder distances; older ones count only in `by_distance`)
    by_embedder: dict[str, list[ReportRange]] = Field(default_factory=dict)


# library health ------------------------------------------------------------------------------
HealthKind = Literal["link", "merge", "check", "graph"]


class HealthQuery(Request):
    """One page of library health items of a kind; `tier` "likely" lists the "likely" links
    kept apart (never by default)."""

    kind: HealthKind
    tier: Literal["high", "likely"] = "high"
    offset: int = Field(0, ge=0, le=10_000_000)
    limit: int = Field(50, ge=1, le=500)


class LocalPerformerOut(Result):
    """A performer of the user's Stash."""

    id: str
    name: str
    image_url: str | None
    stash_ids: list[StashId] = Field(default_factory=list)
    scene_count: int | None = None


class HealthMatch(Result):
    """The database performer a local performer's image matches."""

    performer_id: int
    name: str
    disambiguation: str | None
    distance: float
    tier: str
    stash_ids: list[StashId]
    image_url: str | None


class TaggedOut(Result):
    id: str
    name: str


class UntaggedOut(Result):
    person_id: int
    candidate: CandidateOut


class HealthItem(Result):
    """One library health suggestion. link (and graph: `match` is the identity, tier "graph"):
    `performer`, `match`, `apply_stash_ids` (the local performer's stash ids and the match's,
    for performerUpdate); merge: `performers`,
    `distance` (None when they share a stash id or a database match only); check: `scene_id`,
    `title`, `missing`, `untagged`."""

    id: str
    kind: HealthKind
    score: float
    evidence: list[str]
    performer: LocalPerformerOut | None = None
    match: HealthMatch | None = None
    apply_stash_ids: list[StashId] | None = None
    performers: list[LocalPerformerOut] | None = None
    distance: float | None = None
    scene_id: str | None = None
    title: str | None = None
    missing: list[TaggedOut] | None = None
    untagged: list[UntaggedOut] | None = None


class HealthPage(Result):
    kind: HealthKind
    total: int
    offset: int
    items: list[HealthItem]


class HealthDecisionRequest(Request):
    """Apply (the page made the change in Stash, or opened Stash's merge) or dismiss an item."""

    item_id: str = Field(min_length=3, max_length=2000, pattern=r"^(link|merge|check|graph):")
    kind: Literal["apply", "dismiss"]


class HealthDecisionOut(Result):
    id: int
    item_id: str
    kind: str
    created_at: float
    undone_at: float | None


class HealthStatus(Result):
    """The link / merge refresh: performers read of the total, why it stopped, what it found."""

    running: bool
    done: int
    total: int
    failed: int
    reason: str | None
    finished_at: float | None
    links: int
    likely_links: int
    merges: int
    #: performers kept from an earlier refresh, not read again (Stash's updated_at unchanged)
    unchanged: int = 0
