"""The shapes of the answers only the sidecar gives (health, status, pictures, errors).

The use cases' answers are stash_sense.app.results' models, used directly as the routes'
`response_model`; these are the sidecar's own, in the same way, so `/docs` shows every shape.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from stash_sense.app.results import UpdateStatus


class Answer(BaseModel):
    """An answer of exactly the fields below."""

    model_config = ConfigDict(extra="forbid")


class DatabaseLoaded(Answer):
    loaded: bool


class HealthOut(Answer):
    """What a health check needs (no key asked): nothing private."""

    status: str  # ok, or degraded (no database loaded)
    version: str
    database: DatabaseLoaded
    feedback: bool
    #: whether a newer database release exists (None until the first check); only when a
    #: release index is configured
    database_update_available: bool | None = None


class FeedbackState(Answer):
    path: str
    off: str | None = None  # why feedback is off (the data folder cannot be written)


class StatusOut(Answer):
    """The details behind the key: database path and counts, models, Stash URL, jobs."""

    status: str
    version: str
    uptime_s: float
    #: loaded, path, and the manifest's counts (or the error that kept it from loading)
    database: dict[str, Any]
    models: dict[str, str]
    stash: str | None
    jobs: dict[str, int]
    database_update: UpdateStatus | dict[str, bool]  # {"configured": false} without an index
    feedback: FeedbackState


class UpdateState(Answer):
    """The sidecar's database update: what it does now, or how the last one ended."""

    state: Literal["idle", "running", "done", "failed"]
    started_at: str | None = None
    finished_at: str | None = None
    progress: dict[str, Any] | None = None  # {"step", "done", "total"} while running
    result: dict[str, Any] | None = None  # what `stash-sense db update --json` prints
    error: str | None = None


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
