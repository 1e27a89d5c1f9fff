"""Stash Sense plugin task: forwards one sidecar call from the Stash server.

Stash runs this (interface: raw) for `runPluginOperation(plugin_id: "stash-sense", args)` and
for the "Check sidecar" task. It reads Stash's JSON from stdin ({"server_connection": ...,
"args": ...}) and prints {"output": ...}: the sidecar's status and JSON body, or
{"unreachable": reason}. The page uses it when the sidecar's URL is not an origin the plugin
declares in its Content-Security-Policy.
Standard library only: it runs on whatever Python the Stash host has.
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

# Only the sidecar's own endpoints, so the task cannot be used to reach anything else.
ALLOWED = {
    ("GET", "/health"),
    ("POST", "/identify/scene"),
    ("POST", "/identify/performer"),
    ("POST", "/feedback"),
}
TIMEOUT_S = 300.0
MAX_BODY = 32 * 1024 * 1024


def _log(level: str, message: str) -> None:
    """Stash reads log lines from stderr, a level character between SOH and STX first."""
    sys.stderr.write(f"\x01{level}\x02{message}\n")


def forward(args: dict[str, Any]) -> dict[str, Any]:
    """Performs one sidecar call described by args; returns what the page receives."""
    url = str(args.get("url") or "http://127.0.0.1:5000").rstrip("/")
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        return {"status": 400, "body": {"error": f"sidecar URL {url!r} is not an http(s) URL"}}
    method = str(args.get("method") or "GET").upper()
    path = str(args.get("path") or "/health")
    if (method, path) not in ALLOWED:
        return {"status": 400, "body": {"error": f"{method} {path} is not a sidecar call"}}
    body = args.get("body") or ""
    data = body.encode("utf-8") if isinstance(body, str) and body else None
    headers = {"Accept": "application/json"}
    if data is not None:
        headers["Content-Type"] = "application/json"
    if args.get("api_key"):
        headers["X-API-Key"] = str(args["api_key"])
    request = urllib.request.Request(url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            status, raw = response.status, response.read(MAX_BODY)
    except urllib.error.HTTPError as err:
        status, raw = err.code, err.read(MAX_BODY)
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        return {"unreachable": str(reason)}
    try:
        payload = json.loads(raw.decode("utf-8")) if raw else None
    except ValueError:
        payload = {"error": raw[:200].decode("utf-8", "replace")}
    return {"status": status, "body": payload}


def main() -> int:
    try:
        message = json.loads(sys.stdin.read() or "{}")
    except ValueError as err:
        print(json.dumps({"error": f"stash-sense: bad input from Stash: {err}"}))
        return 1
    args = message.get("args") or {}
    if args.get("mode", "proxy") == "health":
        args = dict(args, method="GET", path="/health")
    result = forward(args)
    if args.get("mode") == "health":
        _log("i", f"stash-sense sidecar health: {json.dumps(result)}")
    print(json.dumps({"output": result}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
