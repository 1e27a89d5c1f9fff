"""The results of the use cases, as pydantic models: the one wire format of the project.

The sidecar answers with these models (FastAPI's `response_model`, so `/docs` shows them) and
the CLI prints their `model_dump(mode="json")` for `--json`. Each model is built from the
domain objects below `app` by its `of()` class method, which also rounds the figures once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ConfigDict

from stash_sense.matching.tiers import TIER_NAMES, Tier, keep_at_least

#: The tiers, best first, and their type: what the adapters show and filter by.
TIERS: tuple[Tier, ...] = TIER_NAMES

if TYPE_CHECKING:
    from stash_sense.faces.types import FaceQuality
    from stash_sense.matching import Match
    from stash_sense.scenes.identify import Person
    from stash_sense.scenes.identify import SceneResult as DomainScene

M = TypeVar("M", bound="MatchResult")


class Result(BaseModel):
    """A result: exactly the fields below (no extra keys), never changed after it is made."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def as_json(self) -> dict[str, Any]:
        """The JSON object (what the sidecar answers and `--json` prints)."""
        return self.model_dump(mode="json")


class StashId(Result):
    endpoint: str
    stash_id: str


class IdentityRef(Result):
    """The identity graph's person behind a match (docs/identity-graph.md): every stash id and
    profile URL across endpoints, each endpoint's names, faces over every source."""

    id: str
    name: str
    stash_ids: list[StashId]
    urls: list[str]
    names: dict[str, list[str]]
    faces: int


class MatchResult(Result):
    """A performer a face (or a person of a scene) may be; `distance` is cosine, lower is nearer;
    `decided_by` names the embedders behind it (`["sface"]` when SFace alone was decisive);
    `identity`: the identity graph's person when the database has a graph (else null)."""

    performer_id: int
    name: str
    disambiguation: str | None
    distance: float
    tier: Tier
    stash_ids: list[StashId]
    aliases: list[str]
    image_url: str | None
    country: str | None
    gender: str | None
    faces_matched: int
    distances: dict[str, float]
    decided_by: list[str]
    identity: IdentityRef | None = None

    @classmethod
    def fields_of(cls, m: Match) -> dict[str, Any]:
        return {
            "performer_id": m.performer_id,
            "name": m.name,
            "disambiguation": m.disambiguation,
            "distance": round(m.distance, 4),
            "tier": m.tier,
            "stash_ids": [StashId(**s) for s in m.stash_ids],
            "aliases": list(m.aliases),
            "image_url": m.image_url,
            "country": m.country,
            "gender": m.gender,
            "faces_matched": m.faces_matched,
            "distances": {k: round(v, 4) for k, v in m.distances.items()},
            "decided_by": list(m.decided_by or m.distances),
        }

    @classmethod
    def of(cls, m: Match) -> MatchResult:
        return cls(**cls.fields_of(m))


class SceneMatchResult(MatchResult):
    """A match of a Stash scene's person: whether the performer is already on the scene (by a
    shared stash id) and, if so, their Stash performer id."""

    already_on_scene: bool
    stash_performer_id: str | None


class QualityResult(Result):
    detection_score: float
    size: float
    blur: float
    yaw: float
    pitch: float
    roll: float
    usable: bool
    reasons: list[str]

    @classmethod
    def of(cls, q: FaceQuality) -> QualityResult:
        return cls(
            detection_score=round(q.detection_score, 4),
            size=round(q.size, 1),
            blur=round(q.blur, 1),
            yaw=round(q.yaw, 1),
            pitch=round(q.pitch, 1),
            roll=round(q.roll, 1),
            usable=q.usable,
            reasons=list(q.reasons),
        )


class FaceResult(Result):
    """One face of an image: where it is, how good it is, and its matches (best first)."""

    box: list[float]
    score: float
    quality: QualityResult
    matches: list[MatchResult]


class ImageResult(Result):
    """Every face of one image, largest first; `image` names it (a path, or a label)."""

    image: str
    faces: list[FaceResult]


class PerformerResult(ImageResult):
    """A Stash performer's image: its faces, and the largest face's matches as `matches`."""

    performer_id: str
    name: str
    matches: list[MatchResult]


class PersonResult(Result):
    """One person of a scene: in how many frames and when, a face crop, who they may be."""

    person_id: int
    frames: int
    times: list[float]
    faces: int
    face_jpeg: str  # base64 JPEG crop, at most 160 px
    matches: list[MatchResult]

    @classmethod
    def fields_of(cls, p: Person) -> dict[str, Any]:
        return {
            "person_id": p.person_id,
            "frames": len(p.frame_indices),
            "times": p.times,
            "faces": len(p.faces),
            "face_jpeg": p.face_jpeg,
        }


class StashPersonResult(PersonResult):
    matches: list[SceneMatchResult]  # type: ignore[assignment]


class SceneResult(Result):
    """Who is in a scene (a local video): one entry per person."""

    scene_id: str | None
    source: str  # sprite, video or sprite+video
    frames_sampled: int
    faces_detected: int
    elapsed_s: float
    persons: list[PersonResult]


class StashSceneResult(SceneResult):
    """Who is in a Stash scene; `elapsed_s` counts reading the frames too; `notes` tell of
    fallbacks (e.g. "no face in the sprite sheet; sampled the video evenly")."""

    persons: list[StashPersonResult]  # type: ignore[assignment]
    notes: list[str]


class DatabaseInfo(Result):
    """One open database: the folder given, its generation, manifest, counts, files, stash ids."""

    path: str  # the folder given (a DB root with `current`, or a generation)
    generation: str  # the name of the generation folder actually read
    manifest: dict[str, Any]
    counts: dict[str, int]
    sources: dict[str, Any]
    stash_ids_per_endpoint: dict[str, int]
    file_sizes: dict[str, int]


class Picture(Result):
    """A database performer's picture, as a data URL (which Stash's CSP allows in img-src)."""

    performer_id: int
    data_url: str


class FeedbackRow(Result):
    """One verdict kept: when, what, on which scene's person and which performer."""

    id: int
    at: str  # ISO 8601, UTC, seconds
    verdict: str
    scene_id: str | None
    person_id: int | None
    performer_id: int | None
    endpoint: str | None
    stash_id: str | None


class FeedbackSaved(Result):
    saved: FeedbackRow


class FeedbackList(Result):
    """The latest verdicts, newest first."""

    feedback: list[FeedbackRow]


class UpdateStatus(Result):
    """Whether a newer database release exists (`available`: None until the first check)."""

    configured: bool
    available: bool | None
    current: str | None  # the release installed now (None: not installed from a release)
    newest: str | None
    checked_at: str | None
    error: str | None
    update: str  # the state of the sidecar's update: idle, running, done, failed


def shown(matches: Iterable[M], min_tier: Tier) -> list[M]:
    """The matches of `min_tier` or better (matching.tiers owns the rule)."""
    return keep_at_least(matches, min_tier)


def face_result(
    box: Sequence[float], score: float, quality: FaceQuality, matches: Sequence[Match], tier: Tier
) -> FaceResult:
    return FaceResult(
        box=list(box),
        score=round(float(score), 4),
        quality=QualityResult.of(quality),
        matches=shown((MatchResult.of(m) for m in matches), tier),
    )


def scene_result(scene: DomainScene, min_tier: Tier) -> SceneResult:
    """A local video's result, matches below `min_tier` left out."""
    persons = [
        PersonResult(
            **PersonResult.fields_of(p),
            matches=shown((MatchResult.of(m) for m in p.matches), min_tier),
        )
        for p in scene.persons
    ]
    return SceneResult(
        scene_id=scene.scene_id,
        source=scene.source,
        frames_sampled=scene.frames_sampled,
        faces_detected=scene.faces_detected,
        elapsed_s=round(scene.elapsed_s, 3),
        persons=persons,
    )


def stash_scene_result(
    scene: DomainScene,
    owners: Sequence[Sequence[str | None]],
    elapsed_s: float,
    notes: list[str],
    min_tier: Tier,
) -> StashSceneResult:
    """A Stash scene's result: `owners[i][j]` is the Stash performer already on the scene that
    person i's match j is (None: not on it)."""
    persons = []
    for p, found in zip(scene.persons, owners, strict=True):
        matches = [
            SceneMatchResult(
                **MatchResult.fields_of(m), already_on_scene=o is not None, stash_performer_id=o
            )
            for m, o in zip(p.matches, found, strict=True)
        ]
        persons.append(
            StashPersonResult(**PersonResult.fields_of(p), matches=shown(matches, min_tier))
        )
    return StashSceneResult(
        scene_id=scene.scene_id,
        source=scene.source,
        frames_sampled=scene.frames_sampled,
        faces_detected=scene.faces_detected,
        elapsed_s=round(elapsed_s, 3),
        persons=persons,
        notes=notes,
    )
