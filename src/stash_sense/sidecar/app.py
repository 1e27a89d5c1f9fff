"""`create_app(config)`: the FastAPI application with its middleware, error handlers and routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.middleware.cors import CORSMiddleware

from stash_sense import __version__
from stash_sense.app.recognizer import FaceEngine
from stash_sense.sidecar import docs_ui, errors, images
from stash_sense.sidecar.config import SidecarConfig
from stash_sense.sidecar.guard import API_KEY_HEADER, Guard
from stash_sense.sidecar.identity_routes import identity_router
from stash_sense.sidecar.library_routes import library_router, start_library, stop_library
from stash_sense.sidecar.limits import Limits
from stash_sense.sidecar.routes import router
from stash_sense.sidecar.services import Services
from stash_sense.sidecar.update_routes import update_router


def create_app(config: SidecarConfig, engine: FaceEngine | None = None) -> FastAPI:
    """The sidecar; models and database load at startup (lifespan), before the first request."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.services = await run_in_threadpool(Services.start, config, engine)
        start_library(app)
        try:
            yield
        finally:
            await run_in_threadpool(stop_library, app)
            app.state.services.close()

    app = FastAPI(
        title="Stash Sense sidecar",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,  # /docs is sidecar/docs_ui.py: Swagger UI without a CDN, behind the API key
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    errors.install(app, config.secrets)
    app.include_router(router)
    app.include_router(images.router)
    app.include_router(docs_ui.router)
    app.include_router(update_router)
    app.include_router(library_router)
    app.include_router(identity_router)
    # Starlette runs the last added middleware first: CORS, then Guard (Host, Origin, key: who
    # may call), then Limits (size, admission, time: what a call may cost), then the routes;
    # so 401/413/503 answers carry CORS headers, and nothing reads a body before both checks.
    app.add_middleware(
        Limits,
        max_body=config.max_upload_bytes,
        max_json=config.max_json_bytes,
        body_timeout_s=config.body_timeout_s,
    )
    app.add_middleware(
        Guard,
        api_key=config.api_key_value,
        host_names=config.host_names,
        origins=config.cors_origins,
    )
    app.add_middleware(
        CORSMiddleware,
        allow_origins=config.cors_origins,
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["Content-Type", API_KEY_HEADER],
        max_age=600,
    )
    return app
