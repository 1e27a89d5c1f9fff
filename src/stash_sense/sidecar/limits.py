"""ASGI middleware bounding what one request may cost before a route reads it.

- Size: a declared Content-Length over the limit is answered 413 before a byte is read, and a
  chunked body is cut off as soon as it passes it (so a 2 GB upload never sits in memory). The
  routes that take no image have a much smaller limit (MAX_JSON_BYTES).
- Admission: the identification routes are let in only while the job gate has room (running +
  waiting jobs), *before* their body is read: a request turned away has its body read and
  dropped (never kept) and is answered 503 with Retry-After, so at most `workers + queue` bodies
  are ever held at once.
- Time: each piece of a body must come within `body_timeout_s`, and the whole body within
  BODY_DEADLINE_FACTOR times that; a slow client is answered 408 and its connection closed.
  (Slow headers are cut off by the server's protocol, see sidecar/server.py.)
"""

from __future__ import annotations

import asyncio
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stash_sense.sidecar.guard import send_json

#: The routes whose work goes through the job gate (see sidecar/jobs.py).
JOB_PATHS = frozenset({"/identify", "/identify/scene", "/identify/performer"})
#: The routes that may carry an image in their body; every other route gets the JSON limit.
IMAGE_PATHS = frozenset({"/identify"})
BODY_DEADLINE_FACTOR = 4


class BodyTooLarge(Exception):
    """The request body passed the size limit."""


class BodyTimeout(Exception):
    """The client did not send its body in time."""


class Limits:
    """Size, admission and time limits; see the module docstring."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body: int,
        max_json: int,
        capacity: int,
        body_timeout_s: float,
        retry_after_s: int = 5,
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.max_json = max_json
        self.capacity = capacity
        self.body_timeout_s = body_timeout_s
        self.retry_after_s = retry_after_s
        self.admitted = 0

    def _limit(self, path: str) -> int:
        return self.max_body if path in IMAGE_PATHS else min(self.max_json, self.max_body)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        limit = self._limit(path)
        too_big = f"request body is larger than the limit of {limit} bytes"
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                await send_json(send, 400, {"error": "malformed Content-Length"})
                return
            if size > limit:
                await send_json(send, 413, {"error": too_big})
                return
        received = 0
        body_done = False
        deadline = time.monotonic() + self.body_timeout_s * BODY_DEADLINE_FACTOR

        async def bounded_receive() -> Message:
            nonlocal received, body_done
            if body_done:
                return await receive()
            wait = min(self.body_timeout_s, deadline - time.monotonic())
            try:
                message = await asyncio.wait_for(receive(), timeout=max(wait, 0.001))
            except TimeoutError:
                raise BodyTimeout from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
                body_done = not message.get("more_body", False)
            else:
                body_done = True
            return message

        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        admitted = path in JOB_PATHS and scope["method"] == "POST"
        try:
            if admitted and self.admitted >= self.capacity:
                await self._turn_away(bounded_receive, send)
                return
            if admitted:
                self.admitted += 1
            try:
                await self.app(scope, bounded_receive, tracking_send)
            finally:
                if admitted:
                    self.admitted -= 1
        except BodyTooLarge:
            if not started:
                await send_json(send, 413, {"error": too_big})
        except BodyTimeout:
            if not started:
                await send_json(send, 408, {"error": "the request body came too slowly"})

    async def _turn_away(self, receive: Receive, send: Send) -> None:
        """Read and drop the body (so the client is there to read the answer), then 503."""
        while True:
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
        if message["type"] == "http.disconnect":
            return
        await send_json(
            send,
            503,
            {"error": "busy: every worker and queue place is taken; retry later"},
            [(b"retry-after", str(self.retry_after_s).encode())],
        )
