"""ASGI middleware deciding who may call the sidecar: Host, Origin and API key, before any body.

- Host: only the names the sidecar is reached by (the loopback names, the bound address and
  `--allowed-host`), so a DNS-rebinding page whose own name now points at 127.0.0.1 is refused.
- Origin: a browser sends one with every cross-origin request, including the "simple" ones
  (text/plain, form and multipart POSTs) that skip the CORS preflight; any origin other than
  the configured ones (the Stash URL, `--cors-origin`) and the sidecar itself is refused, so no
  other page can make the sidecar work, even when its answer stays unreadable.
- API key (X-API-Key) for all but /health and CORS preflights, compared in constant time.
"""

from __future__ import annotations

import hmac
import json
from typing import Any
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

API_KEY_HEADER = "x-api-key"
OPEN_PATHS = frozenset({"/health"})


async def send_json(
    send: Send, status: int, body: dict[str, Any], headers: list[Any] | None = None
) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"connection", b"close"),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def host_name(host: str) -> str:
    """The name part of a Host header value ("[::1]:5000" -> "::1"), lower case."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


class Guard:
    """Refuses wrong Host headers (421), foreign Origins (403) and a missing/wrong key (401)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        api_key: str | None,
        host_names: frozenset[str] | None,
        origins: list[str],
    ) -> None:
        self.app = app
        self.api_key = api_key.encode() if api_key else None
        self.host_names = host_names
        self.origins = {o.rstrip("/").lower() for o in origins}

    def _key_ok(self, scope: Scope, headers: dict[bytes, bytes]) -> bool:
        if self.api_key is None or scope["path"] in OPEN_PATHS or scope["method"] == "OPTIONS":
            return True
        return hmac.compare_digest(headers.get(API_KEY_HEADER.encode(), b""), self.api_key)

    def _origin_ok(self, origin: str, host: str) -> bool:
        origin = origin.rstrip("/").lower()
        if origin in self.origins:
            return True
        try:
            parts = urlsplit(origin)
        except ValueError:
            return False
        return parts.scheme in ("http", "https") and parts.netloc == host.lower()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        host = headers.get(b"host", b"").decode("latin-1")
        if self.host_names is not None and host_name(host) not in self.host_names:
            message = f"Host {host[:100]!r} is not a name of this sidecar (see --allowed-host)"
            await send_json(send, 421, {"error": message})
            return
        origin = headers.get(b"origin")
        if origin is not None and not self._origin_ok(origin.decode("latin-1"), host):
            await send_json(send, 403, {"error": "requests from this web origin are not allowed"})
            return
        if not self._key_ok(scope, headers):
            await send_json(send, 401, {"error": "missing or wrong API key (X-API-Key)"})
            return
        await self.app(scope, receive, send)
