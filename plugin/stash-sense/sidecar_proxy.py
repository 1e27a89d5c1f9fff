"""Stash Sense plugin task: calls the sidecar from the Stash server, with the plugin's settings.

Stash runs this (interface: raw; stashapp/stash pkg/plugin/raw.go) for
`runPluginOperation(plugin_id: "stash-sense", args)` and for the "Check sidecar" task, with
{"server_connection": ..., "args": ...} on stdin, and reads {"output": ...} or {"error": ...} from
stdout and log lines from stderr. The sidecar's URL and API key are read from Stash itself
(`configuration { plugins }`, with the session cookie Stash hands its plugins), never taken from
the page, so a page cannot send the task, or the key, anywhere but the configured sidecar. (The key
is no secret from the page: the same query returns it there; see docs/plugin.md.) Standard library
only: it runs on whatever Python the Stash host has.
"""

from __future__ import annotations

import json
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

PLUGIN_ID = "stash-sense"
DEFAULT_SIDECAR = "http://127.0.0.1:5000"
# Only the sidecar endpoints the plugin uses: the task cannot be used to reach anything else.
ALLOWED = (
    ("GET", re.compile(r"/health")),
    ("GET", re.compile(r"/database/info")),
    ("GET", re.compile(r"/images/\d{1,12}")),
    ("POST", re.compile(r"/identify/scene")),
    ("POST", re.compile(r"/identify/performer")),
    ("POST", re.compile(r"/identity")),  # the identity graph (docs/identity-graph.md)
    ("POST", re.compile(r"/feedback")),
    # the library review page (docs/library.md): the scan, suggestions, decisions, health
    ("GET", re.compile(r"/library/(scan|rejections|health/status)")),
    ("POST", re.compile(r"/library/(scan|scan/pause|decisions|decisions/undo)")),
    ("POST", re.compile(r"/library/health/(decisions|decisions/undo|refresh)")),
    ("GET", re.compile(r"/library/(suggestions|health)(\?[\w.=&%+-]{0,1000})?")),
)
TIMEOUT_S = 300.0
STASH_TIMEOUT_S = 30.0
MAX_BODY = 32 * 1024 * 1024
SETTINGS_QUERY = 'query StashSenseTaskSettings { configuration { plugins(include: ["%s"]) } }'


class TaskError(Exception):
    """Something the task cannot do; its message goes back to Stash as the task's error."""


def _log(level: str, message: str) -> None:
    """Stash reads log lines from stderr, a level character between SOH and STX first."""
    sys.stderr.write(f"\x01{level}\x02{message}\n")


def _stash_url(connection: dict[str, Any]) -> str:
    """Stash's address from server_connection (pkg/plugin/common/msg.go StashServerConnection)."""
    scheme = str(connection.get("Scheme") or "http")
    host = str(connection.get("Host") or "127.0.0.1")
    if host in ("0.0.0.0", ""):  # Stash listening on every interface: reach it on loopback
        host = "127.0.0.1"
    elif host == "::":
        host = "[::1]"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{scheme}://{host}:{int(connection.get('Port') or 9999)}"


def read_settings(connection: dict[str, Any]) -> dict[str, Any]:
    """The plugin's settings as Stash stores them (Settings > Plugins > Stash Sense)."""
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    cookie = connection.get("SessionCookie")
    if isinstance(cookie, dict) and cookie.get("Name"):
        headers["Cookie"] = f"{cookie['Name']}={cookie.get('Value', '')}"
    query = {"operationName": "StashSenseTaskSettings", "query": SETTINGS_QUERY % PLUGIN_ID}
    body = json.dumps(query).encode()
    url = _stash_url(connection) + "/graphql"
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=STASH_TIMEOUT_S) as response:
            payload = json.loads(response.read(MAX_BODY).decode("utf-8"))
    except (urllib.error.URLError, OSError, ValueError) as err:
        raise TaskError(f"cannot read the plugin's settings from Stash at {url}: {err}") from None
    if payload.get("errors"):
        messages = "; ".join(str(e.get("message")) for e in payload["errors"])
        raise TaskError(f"Stash refused to give the plugin's settings: {messages}")
    plugins = ((payload.get("data") or {}).get("configuration") or {}).get("plugins") or {}
    found = plugins.get(PLUGIN_ID) or {}
    return found if isinstance(found, dict) else {}


def _sidecar(settings: dict[str, Any]) -> tuple[str, str]:
    url = str(settings.get("sidecarUrl") or DEFAULT_SIDECAR).strip().rstrip("/")
    return url, str(settings.get("apiKey") or "")


def forward(url: str, api_key: str, method: str, path: str, body: str) -> dict[str, Any]:
    """Performs one sidecar call; returns what the page receives (status + JSON, or unreachable)."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        return {"status": 400, "body": {"error": f"sidecar URL {url!r} is not an http(s) URL"}}
    method = method.upper()
    if not any(method == m and pattern.fullmatch(path) for m, pattern in ALLOWED):
        return {"status": 400, "body": {"error": f"{method} {path} is not a sidecar call"}}
    data = body.encode("utf-8") if body else None
    headers = {"Accept": "application/json"}
    if data is not None:
        headers["Content-Type"] = "application/json"
    if api_key:
        headers["X-API-Key"] = api_key
    request = urllib.request.Request(url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            status, raw = response.status, response.read(MAX_BODY)
    except urllib.error.HTTPError as err:
        status, raw = err.code, err.read(MAX_BODY)
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        return {"unreachable": str(reason), "url": url}
    try:
        payload = json.loads(raw.decode("utf-8")) if raw else None
    except ValueError:
        payload = {"error": raw[:200].decode("utf-8", "replace")}
    return {"status": status, "body": payload}


def check(url: str, api_key: str) -> dict[str, Any]:
    """The "Check sidecar" task: /health, then a call that needs the key, both logged for Stash."""
    health = forward(url, api_key, "GET", "/health", "")
    result: dict[str, Any] = {"url": url, "health": health}
    if "unreachable" in health:
        _log("e", f"stash-sense: cannot reach the sidecar at {url}: {health['unreachable']}")
        return result
    keyed = forward(url, api_key, "GET", "/database/info", "")
    status = keyed.get("status")
    result["key"] = "refused" if status in (401, 403) else ("accepted" if api_key else "not needed")
    if status in (401, 403):
        _log("e", f"stash-sense: the sidecar at {url} refused the API key (HTTP {status})")
    else:
        state = (health.get("body") or {}).get("status")
        _log("i", f"stash-sense: the sidecar at {url} answers ({state}), key {result['key']}")
    return result


def run(message: dict[str, Any]) -> dict[str, Any]:
    args = message.get("args") or {}
    settings = read_settings(message.get("server_connection") or {})
    url, api_key = _sidecar(settings)
    if args.get("mode") == "health":
        return check(url, api_key)
    return forward(
        url, api_key, str(args.get("method") or "GET"), str(args.get("path") or "/health"),
        str(args.get("body") or ""),
    )  # fmt: skip


def main() -> int:
    try:
        message = json.loads(sys.stdin.read() or "{}")
    except ValueError as err:
        print(json.dumps({"error": f"stash-sense: bad input from Stash: {err}"}))
        return 1
    try:
        output = run(message if isinstance(message, dict) else {})
    except TaskError as err:
        _log("e", f"stash-sense: {err}")
        print(json.dumps({"error": f"stash-sense: {err}"}))
        return 1
    print(json.dumps({"output": output}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
