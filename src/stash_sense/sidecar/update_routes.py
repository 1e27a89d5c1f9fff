"""`POST /database/update`, `GET /database/update`: install the newest database release."""

from __future__ import annotations

import threading

from fastapi import APIRouter, Request

from stash_sense.sidecar.errors import ApiError
from stash_sense.sidecar.responses import ERRORS, UpdateState
from stash_sense.sidecar.services import Services
from stash_sense.sidecar.updates import DatabaseUpdates

update_router = APIRouter(responses=ERRORS)
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


@update_router.post(
    "/database/update",
    status_code=202,
    response_model=UpdateState,
    response_model_exclude_none=True,
)
def start_update(request: Request) -> UpdateState:
    """Start installing the newest release (202); 409 while one runs, 400 without an index."""
    updates = updates_of(request)
    if not updates.configured:
        raise ApiError(400, "no release index configured (STASH_SENSE_RELEASE_INDEX)")
    if not updates.start():
        raise ApiError(409, "an update is already running: GET /database/update")
    return UpdateState.model_validate(updates.state)


@update_router.get("/database/update", response_model=UpdateState, response_model_exclude_none=True)
def update_state(request: Request) -> UpdateState:
    return UpdateState.model_validate(updates_of(request).state)
