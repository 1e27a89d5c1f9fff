"""The sidecar's endpoints; see docs/sidecar.md for each one with examples.

Each route adapts HTTP to a use case of stash_sense.app (read and check the request, run the job
under the gate, filter by the lowest tier asked for) and answers the use case's result; the
shapes are declared in sidecar/responses.py, so /docs shows them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from stash_sense import __version__
from stash_sense.app.identify import identify_image
from stash_sense.app.info import database_info
from stash_sense.app.performer import identify_performer
from stash_sense.app.scene import identify_stash_scene
from stash_sense.database import DatabaseError
from stash_sense.matching.tiers import keep_at_least, parse_tier
from stash_sense.net import redact_url
from stash_sense.scenes.stash import SOURCES
from stash_sense.sidecar.bodies import fetch_image, image_input, int_option, json_object
from stash_sense.sidecar.config import MAX_FRAMES
from stash_sense.sidecar.errors import ApiError
from stash_sense.sidecar.feedback import FeedbackOff
from stash_sense.sidecar.responses import (
    ERRORS,
    DatabaseInfoOut,
    FeedbackListOut,
    FeedbackSavedOut,
    HealthOut,
    IdentifyOut,
    PerformerOut,
    SceneOut,
    StatusOut,
)
from stash_sense.sidecar.services import Services
from stash_sense.sidecar.update_routes import updates_of
from stash_sense.sources.stash import StashClient

router = APIRouter(responses=ERRORS)
MAX_TOP = 50


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


def _min_tier(options: dict[str, Any]) -> str:
    try:
        return parse_tier(options.get("min_tier") or "unlikely")
    except ValueError as err:
        raise ApiError(400, f"min_tier: {err}") from None


def _keep(matches: list[dict[str, Any]], min_tier: str) -> list[dict[str, Any]]:
    return keep_at_least(matches, min_tier)


def _stash(s: Services) -> StashClient:
    if s.stash is None:
        raise ApiError(400, "no Stash URL is configured (STASH_SENSE_STASH_URL)")
    return s.stash


@router.get("/health", response_model=HealthOut, response_model_exclude_unset=True)
def health(request: Request) -> dict[str, Any]:
    """What a health check needs and no more (no key is asked for it): no paths, no URLs."""
    s = services(request)
    answer: dict[str, Any] = {
        "status": "ok" if s.holder.current is not None else "degraded",
        "version": __version__,
        "database": {"loaded": s.holder.current is not None},
        "feedback": not isinstance(s.feedback, FeedbackOff),
    }
    updates = updates_of(request)
    if updates.configured:
        # whether a newer database release exists (None until the first check); checked at most
        # daily, in the background; the details are in /status
        answer["database_update_available"] = updates.status().get("available")
    return answer


@router.get("/status", response_model=StatusOut)
def status(request: Request) -> dict[str, Any]:
    """The details (key needed): database path and counts, models, Stash URL, job counters."""
    s = services(request)
    rec = s.holder.current
    database: dict[str, Any] = {"loaded": rec is not None, "path": str(s.holder.path)}
    if rec is not None:
        database.update(rec.db.manifest.counts)
    else:
        database["error"] = s.holder.error
    return {
        "status": "ok" if rec is not None else "degraded",
        "version": __version__,
        "uptime_s": round(time.monotonic() - s.started, 1),
        "database": database,
        "models": {e.name: e.version for e in (rec.engine if rec else s.engine).embedders},
        "stash": redact_url(s.config.stash_url) if s.config.stash_url else None,
        "jobs": s.gate.stats(),
        "database_update": updates_of(request).status(),
        "feedback": {"path": str(s.feedback.path)}
        | ({"off": s.feedback.reason} if isinstance(s.feedback, FeedbackOff) else {}),
    }


def _database_info(s: Services) -> dict[str, Any]:
    with s.holder.use() as rec:
        info = database_info(rec.db, rec.path)
    return {
        "path": str(info.root),
        "generation": info.generation.name,
        "manifest": info.manifest,
        "counts": info.counts,
        "sources": info.sources,
        "stash_ids_per_endpoint": info.stash_ids_per_endpoint,
    }


@router.get("/database/info", response_model=DatabaseInfoOut)
async def database_info_route(request: Request) -> dict[str, Any]:
    return await run_in_threadpool(_database_info, services(request))


@router.post("/database/reload", response_model=DatabaseInfoOut)
async def database_reload(request: Request) -> dict[str, Any]:
    s = services(request)
    body = await json_object(request)
    raw = body.get("path")
    if raw is not None and not isinstance(raw, str):
        raise ApiError(400, "path must be a string")
    path = Path(raw) if raw else None
    if path is not None and not path.is_dir():
        raise ApiError(400, f"no database folder at {path}")
    try:
        await run_in_threadpool(s.holder.reload, path)
    except DatabaseError as err:
        raise ApiError(400, f"reload failed, the previous database stays loaded: {err}") from None
    return await run_in_threadpool(_database_info, s)


@router.post("/identify", response_model=IdentifyOut)
async def identify(request: Request) -> dict[str, Any]:
    s = services(request)
    given = await image_input(request)
    top = int_option(given.options, "top", 5, 1, MAX_TOP)
    min_tier = _min_tier(given.options)

    def job(_should_stop: Callable[[], bool]) -> dict[str, Any]:
        data = given.data
        if data is None:
            data = fetch_image(s.stash, given.url or "", s.config.max_upload_bytes)
        # the bytes are decoded in memory, never written to disk
        with s.holder.use() as rec:
            return identify_image(rec.engine, rec.matcher, data, top=top, name=given.name).as_dict()

    record = await s.gate.run(request, job)
    for face in record["faces"]:
        face["matches"] = _keep(face["matches"], min_tier)
    return record


@router.post("/identify/performer", response_model=PerformerOut)
async def identify_performer_route(request: Request) -> dict[str, Any]:
    s = services(request)
    body = await json_object(request)
    performer_id = str(body.get("performer_id") or "").strip()
    if not performer_id:
        raise ApiError(400, "performer_id is required")
    top = int_option(body, "top", 5, 1, MAX_TOP)
    min_tier = _min_tier(body)
    stash = _stash(s)

    def job(_should_stop: Callable[[], bool]) -> dict[str, Any]:
        with s.holder.use() as rec:
            found = identify_performer(
                stash, rec.engine, rec.matcher, performer_id, top=top,
                max_bytes=s.config.max_upload_bytes,
            )  # fmt: skip
        return found.as_dict()

    record = await s.gate.run(request, job)
    for face in record["faces"]:
        face["matches"] = _keep(face["matches"], min_tier)
    record["matches"] = record["faces"][0]["matches"] if record["faces"] else []
    return record


@router.post("/identify/scene", response_model=SceneOut)
async def identify_scene_route(request: Request) -> dict[str, Any]:
    s = services(request)
    body = await json_object(request)
    options = dict(body)
    if isinstance(body.get("options"), dict):
        options.update(body["options"])
    scene_id = str(options.get("scene_id") or "").strip()
    if not scene_id:
        raise ApiError(400, "scene_id is required")
    frames = int_option(options, "frames", s.config.default_frames, 1, MAX_FRAMES)
    top = int_option(options, "top", 5, 1, MAX_TOP)
    min_tier = _min_tier(options)
    source = str(options.get("source") or "auto").lower()
    if source not in SOURCES:
        raise ApiError(400, f"source must be one of {', '.join(SOURCES)}")
    stash = _stash(s)

    def job(should_stop: Callable[[], bool]) -> dict[str, Any]:
        with s.holder.use() as rec:
            found = identify_stash_scene(
                stash, rec.engine, rec.matcher, scene_id, frames=frames, source=source, top=top,
                should_stop=should_stop,
            )  # fmt: skip
        return found.as_dict()

    result = await s.gate.run(request, job)
    for person in result["persons"]:
        person["matches"] = _keep(person["matches"], min_tier)
    return result


@router.post("/feedback", response_model=FeedbackSavedOut)
async def add_feedback(request: Request) -> dict[str, Any]:
    s = services(request)
    body = await json_object(request)

    def text(name: str) -> str | None:
        value = body.get(name)
        return None if value is None else str(value)

    def number(name: str) -> int | None:
        value = body.get(name)
        if value is None or value == "":
            return None
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ApiError(400, f"{name} must be an integer, got {value!r}") from None

    try:
        row = await run_in_threadpool(
            s.feedback.add,
            str(body.get("verdict") or ""),
            scene_id=text("scene_id"),
            person_id=number("person_id"),
            performer_id=number("performer_id"),
            endpoint=text("endpoint"),
            stash_id=text("stash_id"),
        )
    except ValueError as err:
        raise ApiError(400, str(err)) from None
    return {"saved": row}


@router.get("/feedback", response_model=FeedbackListOut)
async def list_feedback(request: Request) -> dict[str, Any]:
    rows = await run_in_threadpool(services(request).feedback.recent)
    return {"feedback": rows}
