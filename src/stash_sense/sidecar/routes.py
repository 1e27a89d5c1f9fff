"""The sidecar's endpoints; see docs/sidecar.md for each one with examples.

Each route adapts HTTP to a use case of stash_sense.app: it reads the body into the use case's
request model (app.requests: the constraints live there), runs the use case under the job gate,
and answers its result model (app.results), which FastAPI serialises and `/docs` shows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from stash_sense import __version__
from stash_sense.app.failures import DatabaseError
from stash_sense.app.feedback import FeedbackOff
from stash_sense.app.identify import identify_image
from stash_sense.app.info import database_info
from stash_sense.app.performer import identify_performer
from stash_sense.app.requests import (
    FeedbackRequest,
    IdentifyImageRequest,
    IdentifyPerformerRequest,
    IdentifySceneRequest,
    ReloadRequest,
    parse,
)
from stash_sense.app.requests import Request as RequestModel
from stash_sense.app.results import (
    DatabaseInfo,
    FeedbackList,
    FeedbackSaved,
    ImageResult,
    PerformerResult,
    StashSceneResult,
)
from stash_sense.app.scene import identify_stash_scene
from stash_sense.app.stash import StashClient
from stash_sense.net import redact_url
from stash_sense.sidecar.bodies import fetch_image, image_input, json_object
from stash_sense.sidecar.errors import ApiError
from stash_sense.sidecar.responses import ERRORS, FeedbackState, HealthOut, StatusOut
from stash_sense.sidecar.services import Services
from stash_sense.sidecar.update_routes import updates_of

router = APIRouter(responses=ERRORS)


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


def body_of(model: type[RequestModel]) -> dict[str, Any]:
    """The OpenAPI of a JSON body that the route reads itself (bodies.json_object, then
    app.requests.parse), so that /docs shows its fields and constraints."""
    schema = model.model_json_schema()
    return {"requestBody": {"content": {"application/json": {"schema": schema}}}}


def _stash(s: Services) -> StashClient:
    if s.stash is None:
        raise ApiError(400, "no Stash URL is configured (STASH_SENSE_STASH_URL)")
    return s.stash


@router.get("/health", response_model=HealthOut, response_model_exclude_unset=True)
def health(request: Request) -> HealthOut:
    """What a health check needs and no more (no key is asked for it): no paths, no URLs."""
    s = services(request)
    loaded = s.holder.current is not None
    fields: dict[str, Any] = {
        "status": "ok" if loaded else "degraded",
        "version": __version__,
        "database": {"loaded": loaded},
        "feedback": not isinstance(s.feedback, FeedbackOff),
    }
    update = updates_of(request).status()
    if update is not None:
        # checked at most daily, in the background; the details are in /status
        fields["database_update_available"] = update.available
    return HealthOut(**fields)


@router.get("/status", response_model=StatusOut)
def status(request: Request) -> StatusOut:
    """The details (key needed): database path and counts, models, Stash URL, job counters."""
    s = services(request)
    rec = s.holder.current
    database: dict[str, Any] = {"loaded": rec is not None, "path": str(s.holder.path)}
    if rec is not None:
        database.update(rec.db.manifest.counts)
    else:
        database["error"] = s.holder.error
    off = s.feedback.reason if isinstance(s.feedback, FeedbackOff) else None
    return StatusOut(
        status="ok" if rec is not None else "degraded",
        version=__version__,
        uptime_s=round(time.monotonic() - s.started, 1),
        database=database,
        models={e.name: e.version for e in (rec.engine if rec else s.engine).embedders},
        stash=redact_url(s.config.stash_url) if s.config.stash_url else None,
        jobs=s.gate.stats(),
        database_update=updates_of(request).status() or {"configured": False},
        feedback=FeedbackState(path=str(s.feedback.path), off=off),
    )


def _database_info(s: Services) -> DatabaseInfo:
    with s.holder.use() as rec:
        return database_info(rec.db, rec.path)


@router.get("/database/info", response_model=DatabaseInfo)
async def database_info_route(request: Request) -> DatabaseInfo:
    return await run_in_threadpool(_database_info, services(request))


@router.post("/database/reload", response_model=DatabaseInfo, openapi_extra=body_of(ReloadRequest))
async def database_reload(request: Request) -> DatabaseInfo:
    """Reopen the configured database (`{}`), or load one under the data folder (`{"path"}`)."""
    s = services(request)
    given = parse(ReloadRequest, await json_object(request))
    try:
        await run_in_threadpool(s.holder.reload_within, given.path, s.config.data_dir)
    except DatabaseError as err:
        raise ApiError(400, f"reload failed, the previous database stays loaded: {err}") from None
    return await run_in_threadpool(_database_info, s)


@router.post("/identify", response_model=ImageResult)
async def identify(request: Request) -> ImageResult:
    s = services(request)
    given = await image_input(request)
    options = parse(IdentifyImageRequest, given.options)

    def job(_should_stop: Callable[[], bool]) -> ImageResult:
        data = given.data
        if data is None:
            data = fetch_image(s.stash, given.url or "", s.config.max_upload_bytes)
        # the bytes are decoded in memory, never written to disk
        with s.holder.use() as rec:
            return identify_image(
                rec.engine, rec.matcher, data, top=options.top, name=given.name,
                min_tier=options.min_tier,
            )  # fmt: skip

    return await s.gate.run(request, job)


@router.post(
    "/identify/performer",
    response_model=PerformerResult,
    openapi_extra=body_of(IdentifyPerformerRequest),
)
async def identify_performer_route(request: Request) -> PerformerResult:
    s = services(request)
    given = parse(IdentifyPerformerRequest, await json_object(request))
    stash = _stash(s)

    def job(_should_stop: Callable[[], bool]) -> PerformerResult:
        with s.holder.use() as rec:
            return identify_performer(
                stash, rec.engine, rec.matcher, given.performer_id, top=given.top,
                max_bytes=s.config.max_upload_bytes, min_tier=given.min_tier,
            )  # fmt: skip

    return await s.gate.run(request, job)


@router.post(
    "/identify/scene", response_model=StashSceneResult, openapi_extra=body_of(IdentifySceneRequest)
)
async def identify_scene_route(request: Request) -> StashSceneResult:
    s = services(request)
    body = await json_object(request)
    if isinstance(body.get("options"), dict):  # the plugin may nest the options
        body = {**body, **body["options"]}
    given = parse(IdentifySceneRequest, body)
    frames = given.frames or s.config.default_frames
    stash = _stash(s)

    def job(should_stop: Callable[[], bool]) -> StashSceneResult:
        with s.holder.use() as rec:
            return identify_stash_scene(
                stash, rec.engine, rec.matcher, given.scene_id, frames=frames,
                source=given.source, top=given.top, should_stop=should_stop,
                min_tier=given.min_tier,
            )  # fmt: skip

    return await s.gate.run(request, job)


@router.post("/feedback", response_model=FeedbackSaved, openapi_extra=body_of(FeedbackRequest))
async def add_feedback(request: Request) -> FeedbackSaved:
    s = services(request)
    given = parse(FeedbackRequest, await json_object(request))
    return FeedbackSaved(saved=await run_in_threadpool(s.feedback.add, given))


@router.get("/feedback", response_model=FeedbackList)
async def list_feedback(request: Request) -> FeedbackList:
    return FeedbackList(feedback=await run_in_threadpool(services(request).feedback.recent))
