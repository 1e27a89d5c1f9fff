"""ASGI middleware in front of every route: the API key check and the request body size limit.

The size limit rejects a declared Content-Length above the limit before reading any of the body,
and stops a chunked body as soon as it passes the limit, so a 2 GB upload never sits in memory.
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_KEY_HEADER = "x-api-key"
OPEN_PATHS = frozenset({"/health"})


class BodyTooLarge(Exception):
    """The request body passed the upload limit."""


async def send_json(send: Send, status: int, body: dict[str, Any], headers: list[Any]) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"connection", b"close"),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class Guard:
    """API key (header X-API-Key) for all but /health and CORS preflights; body size limit."""

    def __init__(self, app: ASGIApp, *, api_key: str | None, max_body: int) -> None:
        self.app = app
        self.api_key = api_key.encode() if api_key else None
        self.max_body = max_body

    def _key_ok(self, scope: Scope) -> bool:
        if self.api_key is None or scope["path"] in OPEN_PATHS or scope["method"] == "OPTIONS":
            return True
        given = dict(scope["headers"]).get(API_KEY_HEADER.encode(), b"")
        return hmac.compare_digest(given, self.api_key)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not self._key_ok(scope):
            await send_json(send, 401, {"error": "missing or wrong API key (X-API-Key)"}, [])
            return
        limit = self.max_body
        declared = dict(scope["headers"]).get(b"content-length")
        too_big = {"error": f"request body is larger than the limit of {limit} bytes"}
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                await send_json(send, 400, {"error": "malformed Content-Length"}, [])
                return
            if size > limit:
                await send_json(send, 413, too_big, [])
                return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(too_big["error"])
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await send_json(send, 413, too_big, [])
