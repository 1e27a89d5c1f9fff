"""`create_app(config)`: the FastAPI application with its middleware, error handlers and routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.middleware.cors import CORSMiddleware

from stash_sense import __version__
from stash_sense.faces import FaceEngine
from stash_sense.sidecar import errors
from stash_sense.sidecar.config import SidecarConfig
from stash_sense.sidecar.guard import API_KEY_HEADER, Guard
from stash_sense.sidecar.routes import router
from stash_sense.sidecar.services import Services


def create_app(config: SidecarConfig, engine: FaceEngine | None = None) -> FastAPI:
    """The sidecar; models and database load at startup (lifespan), before the first request."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.services = await run_in_threadpool(Services.start, config, engine)
        try:
            yield
        finally:
            app.state.services.close()

    app = FastAPI(
        title="Stash Sense sidecar",
        version=__version__,
        lifespan=lifespan,
        docs_url="/docs",  # the answers' shapes (sidecar/responses.py), behind the API key
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    errors.install(app)
    app.include_router(router)
    # Starlette runs the last added middleware first: CORS wraps Guard, so 401/413 carry CORS.
    app.add_middleware(Guard, api_key=config.api_key, max_body=config.max_upload_bytes)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=config.cors_origins,
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["Content-Type", API_KEY_HEADER],
        max_age=600,
    )
    return app
