"""Errors the routes raise and how each becomes a JSON answer: a status and a one-line message."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from stash_sense.app.errors import InvalidInput, NotFound, Unusable, Upstream
from stash_sense.app.failures import (
    DatabaseError,
    FeedbackUnavailable,
    FrameError,
    ImageError,
    NoDatabase,
    SceneCancelled,
    StashError,
    StorageFull,
)
from stash_sense.net.redact import Redactor
from stash_sense.sidecar.jobs import Busy, ClientGone

log = logging.getLogger("stash_sense.sidecar")

#: nginx's "client closed request": nobody reads it; the log line below says what happened.
CLIENT_GONE = 499


class ApiError(Exception):
    """A request the sidecar refuses, with the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        parts.append(f"{where}: {err.get('msg', 'invalid')}" if where else str(err.get("msg")))
    return "invalid request: " + "; ".join(parts)


STATUS: list[tuple[type[Exception], int, str]] = [
    (InvalidInput, 400, ""),  # the use cases' messages stand alone
    (NotFound, 404, ""),
    (Unusable, 422, ""),
    (Upstream, 502, ""),
    (NoDatabase, 503, "no face database is loaded"),
    (StashError, 502, "Stash"),
    (FrameError, 422, "cannot read the scene's frames"),
    (ImageError, 422, "cannot use the image"),
    (DatabaseError, 503, "face database"),
    (FeedbackUnavailable, 503, "feedback"),
    (StorageFull, 507, "disk full"),
]


def install(app: FastAPI, secrets: list[str] | None = None) -> None:
    """Register handlers so that every error is JSON {"error": message}, never a stack trace,
    and never shows one of `secrets`."""
    redact = Redactor(secrets or [])

    def error_response(
        status: int, message: str, headers: dict[str, str] | None = None
    ) -> JSONResponse:
        return JSONResponse({"error": redact(message)}, status_code=status, headers=headers)

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.message)

    @app.exception_handler(Busy)
    async def busy(_: Request, exc: Busy) -> JSONResponse:
        gate = app.state.services.gate
        return error_response(
            503, f"busy: {exc}; retry later", {"Retry-After": str(gate.retry_after_s)}
        )

    @app.exception_handler(ClientGone)
    @app.exception_handler(SceneCancelled)
    @app.exception_handler(ClientDisconnect)
    async def gone(request: Request, exc: Exception) -> JSONResponse:
        # uvicorn writes no access line for an answer to a closed connection: this is its line
        reason = f"cancelled: {exc or 'the client hung up'}"
        client = f"{request.client.host}:{request.client.port}" if request.client else "-"
        path = quote(request.scope.get("root_path", "") + request.scope["path"])
        log.info('%s - "%s %s" %d %s', client, request.method, path, CLIENT_GONE, reason)
        return error_response(CLIENT_GONE, reason)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(exc.status_code, str(exc.detail), dict(exc.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, _validation_message(exc))

    for kind, status, prefix in STATUS:

        def make(status: int, prefix: str) -> Any:
            async def handler(_: Request, exc: Exception) -> JSONResponse:
                message = str(exc)
                text = message if prefix.lower() in message.lower() else f"{prefix}: {exc}"
                return error_response(status, text)

            return handler

        app.add_exception_handler(kind, make(status, prefix))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(500, f"internal error ({type(exc).__name__}); see the sidecar log")
