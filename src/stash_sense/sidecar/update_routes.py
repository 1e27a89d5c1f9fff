"""`POST /database/update`, `GET /database/update`: install the newest database release."""

from __future__ import annotations

import threading
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from stash_sense.sidecar.errors import ApiError
from stash_sense.sidecar.services import Services
from stash_sense.sidecar.updates import DatabaseUpdates

update_router = APIRouter()
_create = threading.Lock()


def updates_of(request: Request) -> DatabaseUpdates:
    """The app's one DatabaseUpdates, made on first use."""
    state = request.app.state
    with _create:
        if getattr(state, "updates", None) is None:
            services: Services = state.services
            state.updates = DatabaseUpdates(services.config, services.holder)
    found: DatabaseUpdates = state.updates
    return found


@update_router.post("/database/update")
def start_update(request: Request) -> JSONResponse:
    updates = updates_of(request)
    if not updates.configured:
        raise ApiError(400, "no release index configured (STASH_SENSE_RELEASE_INDEX)")
    if not updates.start():
        raise ApiError(409, "an update is already running: GET /database/update")
    return JSONResponse(updates.state, status_code=202)


@update_router.get("/database/update")
def update_state(request: Request) -> dict[str, Any]:
    return updates_of(request).state
