"""Fault injection shared by the stand-ins: latency, a server-side rate limit (429), random 5xx,
outage windows (503, connection resets, hangs), 429 storms, transient GraphQL errors, auth the way
each real server answers it, a cross-host redirect, and the synthetic bad-input images (404, HTML,
oversized, hanging, no face, two faces).

Auth: stash-box runs a request without a valid `ApiKey` as an anonymous user whose role check
fails with HTTP 200 and a GraphQL error "not authorized" (stash-box internal/auth/authorization.go,
`ErrUnauthorized`; the `@hasRole(role: READ)` directive on every query); ThePornDB's Laravel API
answers 401 `{"message": "Unauthenticated."}`. A transient GraphQL error is what gqlgen sends for
a resolver that fails or panics: HTTP 200, `data: null` and "internal system error".
"""

from __future__ import annotations

import asyncio
import math
import random
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from functools import cache

import cv2
import numpy as np
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse


@dataclass
class FaultOptions:
    """What a stand-in does to requests; changed at run time through POST /_dev/config."""

    latency_ms: float = 0.0
    fail_rate: float = 0.0  # fraction of requests answered 500
    rate_limit: float | None = None  # requests a second before 429 + Retry-After
    api_key: str | None = None
    malformed_pages: set[int] = field(default_factory=set)
    hang_graphql: bool = False
    seed: int = 0
    auth_in_graphql: bool = False  # stash-box: HTTP 200 + "not authorized"; else HTTP 401
    outage_kind: str = "503"  # what an outage does: "503", "reset" (drop the connection), "hang"
    outage_until: float = 0.0  # monotonic time the outage ends (set through `outage_s`)
    outage_paths: list[str] = field(default_factory=list)  # only these path prefixes (else all)
    storm_until: float = 0.0  # every request answered 429 until then (set through `storm_s`)
    graphql_error_rate: float = 0.0  # fraction of GraphQL requests answered with a GraphQL error
    redirect_host: str | None = None  # answer 307 to this host (same port) for `redirect_paths`
    redirect_paths: list[str] = field(default_factory=list)

    def update(self, changes: dict[str, object]) -> None:
        for key, value in changes.items():
            if key in ("outage_s", "storm_s"):  # a window starting now
                until = time.monotonic() + float(value)  # type: ignore[arg-type]
                setattr(self, key.replace("_s", "_until"), until)
                continue
            if not hasattr(self, key):
                raise ValueError(f"unknown option {key!r}")
            if key == "malformed_pages":
                value = set(value)  # type: ignore[call-overload]
            setattr(self, key, value)


class Counters:
    """Requests served, by kind, for benchmarks and tests."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: dict[str, int] = {}
        self.first: float | None = None
        self.last: float | None = None

    def add(self, kind: str) -> None:
        with self.lock:
            self.counts[kind] = self.counts.get(kind, 0) + 1
            now = time.monotonic()
            self.first = now if self.first is None else self.first
            self.last = now

    def snapshot(self) -> dict[str, object]:
        with self.lock:
            span = (self.last - self.first) if self.first and self.last else 0.0
            return {"counts": dict(self.counts), "span_s": span}


class ServerBucket:
    """The stand-in's own limiter: over `rate` requests a second it answers 429."""

    def __init__(self) -> None:
        self.tokens = 0.0
        self.stamp = time.monotonic()
        self.lock = threading.Lock()

    def take(self, rate: float) -> float:
        """0 when the request may pass, else the seconds until it could."""
        with self.lock:
            now = time.monotonic()
            burst = max(1.0, rate)
            self.tokens = min(burst, self.tokens + (now - self.stamp) * rate)
            self.stamp = now
            if self.tokens >= 1.0:
                self.tokens -= 1.0
                return 0.0
            return (1.0 - self.tokens) / rate


def fault_middleware(
    options: FaultOptions, counters: Counters, protected: tuple[str, ...]
) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
    """Starlette HTTP middleware applying the options to every non-/_dev request."""
    rng = random.Random(options.seed)
    bucket = ServerBucket()

    async def middleware(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        path = request.url.path
        if path.startswith("/_dev"):
            return await call_next(request)
        counters.add("request")
        given = request.headers.get("ApiKey") or request.headers.get("Authorization", "")
        host = request.url.hostname
        if given and options.redirect_host and host == options.redirect_host:
            counters.add("key_off_host")  # a credential followed a redirect to another host
        redirected = any(path.startswith(p) for p in options.redirect_paths)
        if options.redirect_host and host != options.redirect_host and redirected:
            counters.add("redirect")
            target = request.url.replace(hostname=options.redirect_host)
            return Response(status_code=307, headers={"Location": str(target)})
        now = time.monotonic()
        hit = not options.outage_paths or any(path.startswith(p) for p in options.outage_paths)
        if now < options.outage_until and hit:
            counters.add("outage")
            return await outage_response(options.outage_kind, options.outage_until - now)
        if now < options.storm_until:
            counters.add("429")
            return PlainTextResponse("Too Many Requests", 429, headers={"Retry-After": "1"})
        keyed = given.removeprefix("Bearer ").strip() == options.api_key
        if options.api_key and path.startswith(protected) and not keyed:
            counters.add("401")
            if options.auth_in_graphql:
                return graphql_error("not authorized")
            return JSONResponse({"message": "Unauthenticated."}, status_code=401)
        if path.endswith("graphql") and rng.random() < options.graphql_error_rate:
            counters.add("graphql_error")
            return graphql_error("internal system error")
        if options.rate_limit:
            wait = bucket.take(options.rate_limit)
            if wait > 0:
                counters.add("429")
                return PlainTextResponse(
                    "Too Many Requests",
                    status_code=429,
                    headers={"Retry-After": str(max(1, math.ceil(wait)))},
                )
        if options.latency_ms:
            await asyncio.sleep(options.latency_ms / 1000)
        if options.fail_rate and rng.random() < options.fail_rate:
            counters.add("500")
            return PlainTextResponse("injected failure", status_code=500)
        counters.add("graphql" if path.endswith("graphql") else "other")
        return await call_next(request)

    return middleware


def graphql_error(message: str) -> Response:
    """HTTP 200 with a GraphQL error and no data, as gqlgen answers a failed resolver."""
    return JSONResponse({"errors": [{"message": message, "path": ["query"]}], "data": None})


async def _reset_body() -> AsyncIterator[bytes]:
    yield b"{"
    raise ConnectionResetError("injected connection reset")


async def outage_response(kind: str, left_s: float) -> Response:
    """What a request gets during an outage window."""
    if kind == "hang":
        await asyncio.sleep(left_s)
    if kind == "reset":  # the body breaks off: the client sees the connection drop
        return StreamingResponse(_reset_body())
    return PlainTextResponse("Service Unavailable", status_code=503)


@cache
def no_face_jpeg() -> bytes:
    """A grey gradient: decodes fine, holds no face."""
    ramp = np.tile(np.linspace(60, 200, 250, dtype=np.uint8), (250, 1))
    ok, buf = cv2.imencode(".jpg", cv2.merge([ramp, ramp, ramp]))
    assert ok
    return buf.tobytes()


def two_faces_jpeg(left: bytes, right: bytes) -> bytes:
    """Two face photos side by side at the same size: no face is clearly the subject."""
    a = cv2.imdecode(np.frombuffer(left, np.uint8), cv2.IMREAD_COLOR)
    b = cv2.imdecode(np.frombuffer(right, np.uint8), cv2.IMREAD_COLOR)
    if a is None or b is None:
        raise ValueError("face pictures do not decode")
    b = cv2.resize(b, (a.shape[1], a.shape[0]))
    ok, buf = cv2.imencode(".jpg", np.hstack([a, b]))
    assert ok
    return buf.tobytes()


HUGE_BYTES = 500 * 1024 * 1024


async def _huge_body() -> AsyncIterator[bytes]:
    yield b"\xff\xd8\xff\xe0" + b"\0" * 65532
    chunk = b"\0" * 65536
    for _ in range(HUGE_BYTES // 65536):
        yield chunk


def bad_image_response(kind: str, faces: list[bytes]) -> Response:
    """The synthetic images behind the bad-input performers."""
    if kind == "html":
        return Response("<html><body>Not here</body></html>", media_type="text/html")
    if kind == "huge":  # streamed, no Content-Length: the client must cap while reading
        return StreamingResponse(_huge_body(), media_type="image/jpeg")
    if kind == "huge-declared":
        return StreamingResponse(
            _huge_body(), media_type="image/jpeg", headers={"Content-Length": str(HUGE_BYTES)}
        )
    if kind == "noface":
        return Response(no_face_jpeg(), media_type="image/jpeg")
    if kind == "twofaces" and len(faces) >= 2:
        return Response(two_faces_jpeg(faces[0], faces[1]), media_type="image/jpeg")
    return PlainTextResponse("not found", status_code=404)
