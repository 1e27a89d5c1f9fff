"""The shapes of the sidecar's answers, as pydantic models, so that /docs shows them.

The routes return the use cases' `as_dict()`; FastAPI checks it against these models. Every model
allows extra keys, so a field added to a result is passed on before it is described here.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class Open(BaseModel):
    """A JSON object with the fields below, and possibly more."""

    model_config = ConfigDict(extra="allow")


class StashIdOut(Open):
    endpoint: str
    stash_id: str


class MatchOut(Open):
    """A performer a face (or a person of a scene) may be; `distance` is cosine, lower is nearer."""

    performer_id: int
    name: str
    disambiguation: str | None
    distance: float
    tier: str
    stash_ids: list[StashIdOut]
    aliases: list[str]
    image_url: str | None
    country: str | None
    gender: str | None
    faces_matched: int
    distances: dict[str, float]
    decided_by: list[str]


class SceneMatchOut(MatchOut):
    already_on_scene: bool
    stash_performer_id: str | None


class QualityOut(Open):
    detection_score: float
    size: float
    blur: float
    yaw: float
    pitch: float
    roll: float
    usable: bool
    reasons: list[str]


class FaceOut(Open):
    box: list[float]
    score: float
    quality: QualityOut
    matches: list[MatchOut]


class IdentifyOut(Open):
    """Every face of the image, largest first."""

    image: str
    faces: list[FaceOut]


class PerformerOut(IdentifyOut):
    """The Stash performer's image: its faces, and the largest face's matches as `matches`."""

    performer_id: str
    name: str
    matches: list[MatchOut]


class PersonOut(Open):
    person_id: int
    frames: int
    times: list[float]
    faces: int
    face_jpeg: str
    matches: list[SceneMatchOut]


class SceneOut(Open):
    scene_id: str | None
    source: str
    frames_sampled: int
    faces_detected: int
    elapsed_s: float
    persons: list[PersonOut]
    notes: list[str]


class HealthOut(Open):
    """What a health check needs (no key asked): nothing private."""

    status: str
    version: str
    database: dict[str, bool]
    feedback: bool


class StatusOut(Open):
    """The details behind the key: database path and counts, models, Stash URL, jobs."""

    status: str
    version: str
    uptime_s: float
    database: dict[str, Any]
    models: dict[str, str]
    stash: str | None
    jobs: dict[str, int]
    feedback: dict[str, str]


class DatabaseInfoOut(Open):
    path: str
    generation: str
    manifest: dict[str, Any]
    counts: dict[str, int]
    sources: dict[str, Any]
    stash_ids_per_endpoint: dict[str, int]


class FeedbackSavedOut(Open):
    saved: dict[str, Any]


class FeedbackListOut(Open):
    feedback: list[dict[str, Any]]


class ImageOut(Open):
    """A database performer's picture, as a data URL."""

    performer_id: int
    data_url: str


class ErrorOut(BaseModel):
    """Every refusal and failure: one line."""

    error: str


#: What every route may answer instead (each with ErrorOut), for the routers' `responses`.
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": text}
    for status, text in (
        (400, "the request is wrong"),
        (401, "missing or wrong API key"),
        (404, "Stash or the database has no such scene or performer"),
        (413, "the request body is too large"),
        (422, "the input cannot be used (an image, the scene's frames, a parameter)"),
        (502, "Stash or an image host failed"),
        (503, "busy (Retry-After), or no face database is loaded"),
    )
}
