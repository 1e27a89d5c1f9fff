"""Running the sidecar under uvicorn: slow-header cut-off, log lines without secrets, heap limits.

uvicorn's h11 protocol waits for a request's headers forever (its keep-alive timer only runs
between requests, and any byte received cancels it), so a client sending one header byte at a
time holds a connection, and a coroutine, indefinitely. `HeaderTimeoutProtocol` closes a
connection whose request line and headers have not all arrived within `header_timeout_s`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.h11_impl import H11Protocol

from stash_sense.net.redact import Redactor
from stash_sense.sidecar.config import SidecarConfig
from stash_sense.sidecar.memory import return_freed_memory

#: Open connections at most; beyond that uvicorn answers 503 at once.
MAX_CONNECTIONS = 256


class HeaderTimeoutProtocol(H11Protocol):
    """uvicorn's h11 protocol, closing connections whose request headers come too slowly."""

    header_timeout_s = 10.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._header_timer: asyncio.TimerHandle | None = None
        super().connection_made(transport)
        self._arm()

    def _between_requests(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _arm(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout_s, self._expire)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _expire(self) -> None:
        self._header_timer = None
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
    """Scrubs secrets from every record; drops query strings from access-log request lines."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) >= 3:
            record.args = (*args[:2], str(args[2]).split("?", 1)[0], *args[3:])
        record.msg = self.redact(record.getMessage())
        record.args = None
        if record.exc_info:
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def install_log_filters(redact: Redactor) -> None:
    """Put the redacting filter on every handler uvicorn configured, and give the sidecar's own
    loggers a handler that has it too."""
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
            handler.addFilter(flt)


def serve(app: FastAPI, config: SidecarConfig, port: int, **extra: Any) -> None:
    """Run `app` on (config.bind_host, port) until stopped."""
    return_freed_memory()
    protocol = type(
        "SidecarProtocol", (HeaderTimeoutProtocol,), {"header_timeout_s": config.header_timeout_s}
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
