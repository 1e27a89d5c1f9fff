"""ASGI middleware bounding what one request may cost before a route reads it.

- Size: a declared Content-Length over the limit is answered 413 before a byte is read, and a
  chunked body is cut off as soon as it passes it (so a 2 GB upload never sits in memory). The
  routes that take no image have a much smaller limit (MAX_JSON_BYTES).
- Uploads: a request is admitted to the job gate (running + waiting jobs, sidecar/jobs.py)
  only once its body has arrived, so uploads still dribbling in hold no job slot (nine slow
  uploads once took every slot and turned every other client away). While they arrive, the
  bodies of the identification routes reserve their declared size (the route's limit when
  chunked) from a receive budget of RECEIVE_SLOTS bodies at the limit, and one client (address)
  from half of it; an upload beyond either has its body read and dropped (never kept) and is
  answered 503 with Retry-After.
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
#: Bodies at the upload limit that may be arriving at once (over all clients): 128 MB at the
#: default 32 MB limit, besides the bodies that have arrived (at most workers + queue).
RECEIVE_SLOTS = 4


class BodyTooLarge(Exception):
    """The request body passed the size limit."""


class BodyTimeout(Exception):
    """The client did not send its body in time."""


class Limits:
    """Size, upload and time limits; see the module docstring."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body: int,
        max_json: int,
        body_timeout_s: float,
        retry_after_s: int = 5,
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.max_json = max_json
        self.body_timeout_s = body_timeout_s
        self.retry_after_s = retry_after_s
        self.receive_budget = max_body * RECEIVE_SLOTS
        self.client_budget = self.receive_budget // 2
        self.receiving = 0
        self.by_client: dict[str, int] = {}

    def _reserve(self, client: str, size: int) -> bool:
        """Take `size` bytes of the receive budget for `client`; False when either is spent."""
        mine = self.by_client.get(client, 0)
        if self.receiving + size > self.receive_budget or mine + size > self.client_budget:
            return False
        self.receiving += size
        self.by_client[client] = mine + size
        return True

    def _release(self, client: str, size: int) -> None:
        self.receiving -= size
        left = self.by_client.pop(client, 0) - size
        if left > 0:
            self.by_client[client] = left

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
        size = limit
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
        client = (scope.get("client") or ("?", 0))[0]
        reserved = 0

        def body_arrived() -> None:
            nonlocal body_done, reserved
            body_done = True
            if reserved:
                self._release(client, reserved)
                reserved = 0

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
                if not message.get("more_body", False):
                    body_arrived()
            else:
                body_arrived()
            return message

        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        uploading = path in JOB_PATHS and scope["method"] == "POST"
        try:
            if uploading:
                if not self._reserve(client, size):
                    await self._turn_away(bounded_receive, send)
                    return
                reserved = size
            try:
                await self.app(scope, bounded_receive, tracking_send)
            finally:
                body_arrived()
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
            {"error": "busy: too many uploads are arriving at once; retry later"},
            [(b"retry-after", str(self.retry_after_s).encode())],
        )
