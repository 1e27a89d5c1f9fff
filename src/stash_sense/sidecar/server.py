"""Running the sidecar under uvicorn: slow-header cut-off, log lines without secrets, heap limits.

uvicorn's h11 protocol waits for a request's headers forever (its keep-alive timer only runs
between requests, and any byte received cancels it), so a client sending one header byte at a
time holds a connection, and a coroutine, indefinitely. `HeaderTimeoutProtocol` closes a
connection whose request line and headers have not all arrived within `header_timeout_s`, and
keeps at most `max_waiting` connections waiting for headers: a new connection beyond that closes
the one that has waited longest, when that one has waited `grace_s` at least (a client that
sends its headers at once is never displaced by a churn of attackers reconnecting; CI saw one
`/health` of 15 cut so under load). uvicorn's `limit_concurrency` counts every open connection, so
without that bound 260 connections dribbling header bytes made `/health` answer 503 in 23 of 25
checks; with it a waiting connection costs a protocol object until a newer one displaces it,
and requests whose headers have arrived are served (300 such connections, `/health` below 1 s:
tests/sidecar/test_hostile_clients.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.h11_impl import H11Protocol

from stash_sense.net.redact import Redactor
from stash_sense.sidecar.config import SidecarConfig
from stash_sense.sidecar.memory import return_freed_memory

#: Connections waiting for their request headers at most; a new one displaces the oldest.
MAX_WAITING = 128
#: A connection waiting for headers this long at least may be displaced; a younger one never is.
GRACE_S = 1.0
#: Open connections at most (waiting ones included); beyond that uvicorn answers 503 at once.
MAX_CONNECTIONS = 512


class HeaderTimeoutProtocol(H11Protocol):
    """uvicorn's h11 protocol, closing connections whose request headers come too slowly."""

    header_timeout_s = 10.0
    max_waiting = MAX_WAITING
    grace_s = GRACE_S
    #: the connections waiting for headers, oldest first (one dict per server: see `serve`)
    waiting: ClassVar[dict[HeaderTimeoutProtocol, None]] = {}

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._header_timer: asyncio.TimerHandle | None = None
        super().connection_made(transport)
        self._arm()

    def _between_requests(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _arm(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout_s, self._expire)
            self._armed_at = self.loop.time()
            self.waiting[self] = None
            while len(self.waiting) > self.max_waiting:
                oldest = next(iter(self.waiting))
                if oldest is self or self._armed_at - oldest._armed_at < self.grace_s:
                    break
                oldest._close_waiting()

    def _disarm(self) -> None:
        self.waiting.pop(self, None)
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _close_waiting(self) -> None:
        self._disarm()
        if not self.transport.is_closing():
            self.transport.close()

    def _expire(self) -> None:
        self._header_timer = None
        self.waiting.pop(self, None)
        if self._between_requests() and not self.transport.is_closing():
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        if self._between_requests():
            self._arm()
        super().data_received(data)
        if not self._between_requests():
            self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)


class RedactingFilter(logging.Filter):
    """Scrubs secrets from a record's message, arguments and exception text, in place.

    The record keeps its shape (uvicorn's access formatter unpacks `record.args` as a tuple), so
    formatting never fails; and if a handler fails anyway, `logging.Handler.handleError` prints
    `record.msg` and `record.args`, which are already redacted. The access log's request path
    loses its query string (Stash puts `apikey=` in URLs).
    """

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def _scrub(self, value: object) -> object:
        if isinstance(value, int | float) or value is None:
            return value
        text = str(value)
        clean = self.redact(text)
        return value if clean == text else clean

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) >= 3:
            args = (*args[:2], str(args[2]).split("?", 1)[0], *args[3:])
        if isinstance(args, tuple):
            record.args = tuple(self._scrub(a) for a in args)
        elif isinstance(args, Mapping):
            record.args = {k: self._scrub(v) for k, v in args.items()}
        record.msg = self._scrub(record.msg)
        if record.exc_info:
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


class RedactingFormatter(logging.Formatter):
    """Another formatter's output with the secrets scrubbed: the last word on every line. The
    line starts with the record's time, ISO 8601 in UTC (`2026-12-03T19:30:00.123Z`), unless the
    inner format already shows a time."""

    def __init__(self, inner: logging.Formatter | None, redact: Redactor) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        line = self.redact(self.inner.format(record))
        return line if self.inner.usesTime() else f"{utc_stamp(record.created)} {line}"


def utc_stamp(created: float) -> str:
    """A record's time as ISO 8601 in UTC, to the millisecond."""
    moment = datetime.fromtimestamp(created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def install_log_filters(redact: Redactor) -> None:
    """Redact on every handler of the sidecar's and uvicorn's loggers twice over: the record
    (filter, before formatting) and the formatted line (formatter); give the sidecar's own
    loggers a handler if they have none."""
    flt = RedactingFilter(redact)
    own = logging.getLogger("stash_sense")
    if not own.handlers:
        stream = logging.StreamHandler()
        stream.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
        own.addHandler(stream)
        own.setLevel(logging.INFO)
        own.propagate = False
    for name in ("", "uvicorn", "uvicorn.error", "uvicorn.access", "stash_sense"):
        for handler in logging.getLogger(name).handlers:
            if flt not in handler.filters:
                handler.addFilter(flt)
            if not isinstance(handler.formatter, RedactingFormatter):
                handler.setFormatter(RedactingFormatter(handler.formatter, redact))


def serve(app: FastAPI, config: SidecarConfig, port: int, **extra: Any) -> None:
    """Run `app` on (config.bind_host, port) until stopped."""
    return_freed_memory()
    protocol = type(
        "SidecarProtocol",
        (HeaderTimeoutProtocol,),
        {"header_timeout_s": config.header_timeout_s, "waiting": {}},
    )
    server_config = uvicorn.Config(
        app,
        host=config.bind_host,
        port=port,
        http=protocol,
        log_level="info",
        access_log=True,
        limit_concurrency=MAX_CONNECTIONS,
        timeout_keep_alive=5,
        **extra,
    )
    install_log_filters(Redactor(config.secrets))
    uvicorn.Server(server_config).run()
