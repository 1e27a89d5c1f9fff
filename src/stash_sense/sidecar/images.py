"""GET /images/{performer_id}: a database performer's picture (the `app.picture` use case)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from stash_sense.app.picture import performer_picture
from stash_sense.app.results import Picture
from stash_sense.sidecar.responses import ERRORS
from stash_sense.sidecar.services import Services

router = APIRouter(responses=ERRORS)


def _picture(s: Services, performer_id: int) -> Picture:
    with s.holder.use() as rec:
        return performer_picture(rec.db, s.config.data_dir / "images", performer_id)


@router.get("/images/{performer_id}", response_model=Picture)
async def image(request: Request, performer_id: int) -> Picture:
    services: Services = request.app.state.services
    return await run_in_threadpool(_picture, services, performer_id)
