"""The library scan's endpoints under /library: start, pause and follow the scan (it runs on a
background thread of this process; requests go on meanwhile), list suggestions, apply / reject /
undo, list rejections and their report. Each adapts HTTP to a use case of `app.library`."""

from __future__ import annotations

import logging
import threading
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.concurrency import run_in_threadpool

from stash_sense.app.errors import InvalidInput
from stash_sense.app.library import (
    ScanRunner,
    decide,
    list_decisions,
    list_suggestions,
    open_library,
    rejection_report,
    undo_decision,
)
from stash_sense.app.library_health import (
    HealthRunner,
    decide_health,
    list_health,
    undo_health,
)
from stash_sense.app.library_models import (
    DecisionList,
    DecisionOut,
    DecisionRequest,
    HealthDecisionOut,
    HealthDecisionRequest,
    HealthPage,
    HealthQuery,
    HealthStatus,
    RejectionReport,
    ScanRequest,
    ScanStatus,
    SuggestionPage,
    SuggestionsQuery,
    UndoRequest,
)
from stash_sense.app.library_schedule import SHUTDOWN_PAUSE, ScanSchedule, interval_s
from stash_sense.app.requests import parse
from stash_sense.sidecar.bodies import json_object
from stash_sense.sidecar.responses import ERRORS
from stash_sense.sidecar.routes import body_of
from stash_sense.sidecar.services import Services

log = logging.getLogger(__name__)
library_router = APIRouter(prefix="/library", tags=["library"], responses=ERRORS)
_create = threading.Lock()


def library_of(request: Request) -> ScanRunner:
    """The app's one ScanRunner over the state database in the data folder, made on first use
    (InvalidInput, a 400, when that database cannot be opened)."""
    return runner_of(request.app.state)


def runner_of(state: Any) -> ScanRunner:
    """`library_of` for the app's state (also at startup, for the schedule)."""
    with _create:
        if getattr(state, "library", None) is None:
            s: Services = state.services
            store = open_library(s.config.data_dir)
            state.library = ScanRunner(
                store, s.config.stash_url, s.config.stash_api_key_value, s.holder.use,
                requests_per_s=s.config.scan_rate, memory_ceiling_mb=s.config.scan_memory_mb,
            )  # fmt: skip
    found: ScanRunner = state.library
    return found


def health_of(request: Request) -> HealthRunner:
    """The app's one link / merge refresh, over the same state database as the scan."""
    state = request.app.state
    runner = runner_of(state)
    with _create:
        if getattr(state, "health", None) is None:
            s: Services = state.services
            state.health = HealthRunner(
                runner.store, s.config.stash_url, s.config.stash_api_key_value, s.holder.use,
                requests_per_s=s.config.scan_rate, busy=lambda: runner.running,
            )  # fmt: skip
    found: HealthRunner = state.health
    return found


def start_library(app: FastAPI) -> None:
    """At startup: the scan schedule (STASH_SENSE_SCAN_SCHEDULE), unless it is off; a state
    database that cannot be opened is logged, and the sidecar serves on without a schedule."""
    config = app.state.services.config
    every = interval_s(config.scan_schedule)
    if every is None:
        return
    try:
        runner = runner_of(app.state)
    except InvalidInput as err:
        log.error("no scan schedule: %s", err)
        return
    schedule = ScanSchedule(runner, config.scan_schedule, every,
                            new_scenes=config.scan_new_scenes, frames=config.frames)  # fmt: skip
    app.state.schedule = schedule
    schedule.start()


def stop_library(app: FastAPI, wait_s: float = 10.0) -> None:
    """At shutdown: the schedule ends; a running scan pauses (the next scheduled look or POST
    /library/scan resumes it) and is given `wait_s` to finish writing."""
    schedule: ScanSchedule | None = getattr(app.state, "schedule", None)
    if schedule is not None:
        schedule.stop()
    health: HealthRunner | None = getattr(app.state, "health", None)
    if health is not None:
        health.stop()
    runner: ScanRunner | None = getattr(app.state, "library", None)
    if runner is not None and runner.running:
        runner.pause(SHUTDOWN_PAUSE)
        runner.wait(wait_s)


def _scheduled(request: Request, status: ScanStatus) -> ScanStatus:
    schedule: ScanSchedule | None = getattr(request.app.state, "schedule", None)
    if schedule is None:
        return status
    return status.model_copy(update={"schedule": schedule.schedule,
                                     "next_scheduled_at": schedule.next_at})  # fmt: skip


@library_router.post(
    "/scan", status_code=202, response_model=ScanStatus, openapi_extra=body_of(ScanRequest)
)
async def start_scan(request: Request) -> ScanStatus:
    """Start (or resume) the scan in the background; 400 while one runs or without a Stash URL."""
    given = parse(ScanRequest, await json_object(request))
    runner = await run_in_threadpool(library_of, request)
    return _scheduled(request, await run_in_threadpool(runner.start, given))


@library_router.post("/scan/pause", response_model=ScanStatus)
async def pause_scan(request: Request) -> ScanStatus:
    """Pause the scan after (or during) its current scene; POST /library/scan resumes it."""
    runner = await run_in_threadpool(library_of, request)
    return _scheduled(request, await run_in_threadpool(runner.pause))


@library_router.get("/scan", response_model=ScanStatus)
async def scan_status(request: Request) -> ScanStatus:
    """Where the scan stands: done / total / failed, this run's rate and the time left."""
    runner = await run_in_threadpool(library_of, request)
    return _scheduled(request, await run_in_threadpool(runner.status))


@library_router.get("/suggestions", response_model=SuggestionPage)
async def suggestions(request: Request) -> SuggestionPage:
    """One page of scanned scenes with what to propose; the query string holds the filters
    (lowest_tier, studio, date_from, date_to, has_suggestion, preselected_only, min_frames,
    offset, limit). A rejected performer or face cluster is never among them."""
    query: dict[str, Any] = dict(request.query_params)
    given = parse(SuggestionsQuery, query)
    runner = await run_in_threadpool(library_of, request)
    s: Services = request.app.state.services
    if given.min_frames is None:
        given = given.model_copy(update={"min_frames": s.config.scan_preselect_frames})
    return await run_in_threadpool(list_suggestions, runner.store, given)


@library_router.post(
    "/decisions", response_model=DecisionOut, openapi_extra=body_of(DecisionRequest)
)
async def add_decision(request: Request) -> DecisionOut:
    """Apply ("this is them"; the page adds them in Stash itself) or reject ("not this person":
    kept by scene and by face cluster, so no rescan or database update proposes it again)."""
    given = parse(DecisionRequest, await json_object(request))
    runner = await run_in_threadpool(library_of, request)
    return await run_in_threadpool(decide, runner.store, given)


@library_router.post(
    "/decisions/undo", response_model=DecisionOut, openapi_extra=body_of(UndoRequest)
)
async def undo(request: Request) -> DecisionOut:
    """Undo a decision (`{"id": n}`, or `{}` for the latest in force)."""
    given = parse(UndoRequest, await json_object(request))
    runner = await run_in_threadpool(library_of, request)
    return await run_in_threadpool(undo_decision, runner.store, given.id)


@library_router.get("/rejections", response_model=DecisionList)
async def rejections(request: Request) -> DecisionList:
    """The rejections in force, oldest first (undo one with POST /library/decisions/undo)."""
    runner = await run_in_threadpool(library_of, request)
    return await run_in_threadpool(list_decisions, runner.store, "reject")


@library_router.get("/rejections/report", response_model=RejectionReport)
async def report(request: Request) -> RejectionReport:
    """Where rejections cluster (performers, tiers, distance ranges), for calibration."""
    runner = await run_in_threadpool(library_of, request)
    return await run_in_threadpool(rejection_report, runner.store)


@library_router.get("/health", response_model=HealthPage)
async def health_items(request: Request) -> HealthPage:
    """One page of library health items of a kind (`kind`=link|graph|merge|check, `tier`=high|likely
    for links, `offset`, `limit`), best first; applied and dismissed ones are left out."""
    given = parse(HealthQuery, dict(request.query_params))
    runner = await run_in_threadpool(library_of, request)
    return await run_in_threadpool(list_health, runner.store, given, runner.use)


@library_router.post(
    "/health/decisions", response_model=HealthDecisionOut,
    openapi_extra=body_of(HealthDecisionRequest),
)  # fmt: skip
async def health_decision(request: Request) -> HealthDecisionOut:
    """Apply (the page changed Stash: the stash ids added, or Stash's merge opened) or dismiss
    one item; it is not listed again until the decision is undone."""
    given = parse(HealthDecisionRequest, await json_object(request))
    runner = await run_in_threadpool(library_of, request)
    return await run_in_threadpool(decide_health, runner.store, given, runner.use)


@library_router.post(
    "/health/decisions/undo", response_model=HealthDecisionOut, openapi_extra=body_of(UndoRequest)
)
async def health_undo(request: Request) -> HealthDecisionOut:
    """Undo a health decision (`{"id": n}`, or `{}` for the latest in force)."""
    given = parse(UndoRequest, await json_object(request))
    runner = await run_in_threadpool(library_of, request)
    return await run_in_threadpool(undo_health, runner.store, given.id)


@library_router.post("/health/refresh", status_code=202, response_model=HealthStatus)
async def health_refresh(request: Request) -> HealthStatus:
    """Read every local performer and its image (paced like the scan) in the background, and
    find the link and merge items; 400 while one runs or a scan runs."""
    health = await run_in_threadpool(health_of, request)
    return await run_in_threadpool(health.start)


@library_router.get("/health/status", response_model=HealthStatus)
async def health_status(request: Request) -> HealthStatus:
    """Where the link / merge refresh stands, and how many items it found."""
    health = await run_in_threadpool(health_of, request)
    return await run_in_threadpool(health.status)
