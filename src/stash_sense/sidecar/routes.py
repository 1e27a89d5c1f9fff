"""The sidecar's endpoints; see docs/sidecar.md for each one with examples."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from stash_sense import __version__
from stash_sense.cli.identify import identify_image
from stash_sense.database import DatabaseError
from stash_sense.matching.tiers import keep_at_least, parse_tier
from stash_sense.scenes.identify import identify_scene
from stash_sense.scenes.stash import SOURCES, mark_on_scene, stash_scene_frames
from stash_sense.sidecar.bodies import fetch_image, image_input, int_option, json_object
from stash_sense.sidecar.config import MAX_FRAMES
from stash_sense.sidecar.errors import ApiError
from stash_sense.sidecar.services import Services

router = APIRouter()
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


def _identify_bytes(s: Services, data: bytes, name: str, top: int) -> dict[str, Any]:
    """`stash-sense identify --json`'s record for one image (same code), named `name`; the bytes
    are decoded in memory, never written to disk."""
    with s.holder.use() as rec:
        record = identify_image(s.engine, rec.matcher, data, top, name=name)
    if "error" in record:
        raise ApiError(422, str(record["error"]))
    return record


@router.get("/health")
def health(request: Request) -> dict[str, Any]:
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
        "models": {e.name: e.version for e in s.engine.embedders},
        "stash": s.config.stash_url,
        "jobs": s.gate.stats(),
    }


def _database_info(s: Services) -> dict[str, Any]:
    with s.holder.use() as rec:
        per_endpoint = rec.db.query(
            "SELECT endpoint, COUNT(*) FROM stash_ids GROUP BY endpoint ORDER BY endpoint"
        )
        return {
            "path": str(rec.path),
            "generation": rec.db.path.name,
            "manifest": rec.db.manifest.as_dict(),
            "counts": dict(rec.db.manifest.counts),
            "sources": rec.db.manifest.sources,
            "stash_ids_per_endpoint": {str(e): int(n) for e, n in per_endpoint},
        }


@router.get("/database/info")
async def database_info(request: Request) -> dict[str, Any]:
    return await run_in_threadpool(_database_info, services(request))


@router.post("/database/reload")
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


@router.post("/identify")
async def identify(request: Request) -> dict[str, Any]:
    s = services(request)
    given = await image_input(request)
    top = int_option(given.options, "top", 5, 1, MAX_TOP)
    min_tier = _min_tier(given.options)

    def job(_should_stop: Callable[[], bool]) -> dict[str, Any]:
        data = given.data
        if data is None:
            data = fetch_image(s.stash, given.url or "", s.config.max_upload_bytes)
        return _identify_bytes(s, data, given.name, top)

    record = await s.gate.run(request, job)
    for face in record["faces"]:
        face["matches"] = _keep(face["matches"], min_tier)
    return record


@router.post("/identify/performer")
async def identify_performer(request: Request) -> dict[str, Any]:
    s = services(request)
    body = await json_object(request)
    performer_id = str(body.get("performer_id") or "").strip()
    if not performer_id:
        raise ApiError(400, "performer_id is required")
    top = int_option(body, "top", 5, 1, MAX_TOP)
    min_tier = _min_tier(body)
    stash = s.stash
    if stash is None:
        raise ApiError(400, "no Stash URL is configured (STASH_SENSE_STASH_URL)")

    def job(_should_stop: Callable[[], bool]) -> dict[str, Any]:
        performer = stash.find_performer(performer_id)
        if performer is None:
            raise ApiError(404, f"Stash has no performer {performer_id}")
        if not performer.image_path:
            raise ApiError(422, f"performer {performer_id} has no image in Stash")
        data = fetch_image(stash, performer.image_path, s.config.max_upload_bytes)
        record = _identify_bytes(s, data, f"performer {performer_id}", top)
        record.update(performer_id=performer.id, name=performer.name)
        return record

    record = await s.gate.run(request, job)
    for face in record["faces"]:
        face["matches"] = _keep(face["matches"], min_tier)
    record["matches"] = record["faces"][0]["matches"] if record["faces"] else []
    return record


@router.post("/identify/scene")
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
    stash = s.stash
    if stash is None:
        raise ApiError(400, "no Stash URL is configured (STASH_SENSE_STASH_URL)")

    def job(should_stop: Callable[[], bool]) -> dict[str, Any]:
        started = time.perf_counter()
        with s.holder.use() as rec:
            scene = stash.find_scene(scene_id)
            if scene is None:
                raise ApiError(404, f"Stash has no scene {scene_id}")
            picked, used, notes = stash_scene_frames(
                stash, scene, frames, source=source, should_stop=should_stop, engine=s.engine
            )
            result = identify_scene(
                picked, s.engine, rec.matcher, source=used, scene_id=scene.id, top=top,
                should_stop=should_stop,
            )  # fmt: skip
        mark_on_scene(result, scene)
        out = result.as_dict()
        out["elapsed_s"] = round(time.perf_counter() - started, 3)
        out["notes"] = notes
        return out

    result = await s.gate.run(request, job)
    for person in result["persons"]:
        person["matches"] = _keep(person["matches"], min_tier)
    return result


@router.post("/feedback")
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


@router.get("/feedback")
async def list_feedback(request: Request) -> dict[str, Any]:
    rows = await run_in_threadpool(services(request).feedback.recent)
    return {"feedback": rows}
