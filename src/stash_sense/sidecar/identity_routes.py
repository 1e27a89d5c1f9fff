"""`POST /identity`: the identity graph's answer for a stash id or a local performer's stash ids
(the `app.identity` use case): every endpoint that has this person, with stash id, names, URLs."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from stash_sense.app.identity import IdentityAnswer, IdentityRequest, identity_for
from stash_sense.app.requests import parse
from stash_sense.sidecar.bodies import json_object
from stash_sense.sidecar.responses import ERRORS
from stash_sense.sidecar.routes import body_of
from stash_sense.sidecar.services import Services

identity_router = APIRouter(tags=["identity graph"], responses=ERRORS)


@identity_router.post(
    "/identity", response_model=IdentityAnswer, openapi_extra=body_of(IdentityRequest)
)
async def identity(request: Request) -> IdentityAnswer:
    """The identity of `{"endpoint", "stash_id"}` or of `{"stash_ids": [{"endpoint",
    "stash_id"}, ...]}` in the loaded database's identity graph (`stash-sense db graph build`):
    400 for an endpoint the graph has no stash id of or a malformed id, 404 for an id it does not
    know, 422 when no graph is built."""
    services: Services = request.app.state.services
    asked = parse(IdentityRequest, await json_object(request))
    return await run_in_threadpool(identity_for, services.holder.path, asked)
