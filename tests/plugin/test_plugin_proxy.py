"""The plugin's server-side task (sidecar_proxy.py), run the way Stash runs a raw plugin task.

Its happy path (forwarding /identify/scene to the real sidecar) runs in the browser tests
(plugin/tests, "through Stash"); here: what it refuses and how it reports failures.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

TASK = Path(__file__).resolve().parents[2] / "plugin" / "stash-sense" / "sidecar_proxy.py"


def run_task(stdin: str) -> tuple[int, dict[str, Any], str]:
    done = subprocess.run(
        [sys.executable, str(TASK)], input=stdin, capture_output=True, text=True, timeout=30
    )
    return done.returncode, json.loads(done.stdout), done.stderr


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stash_input(**args: Any) -> str:
    connection = {"Scheme": "http", "Host": "127.0.0.1", "Port": 9999, "Dir": str(TASK.parent)}
    return json.dumps({"server_connection": connection, "args": args})


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/admin"), ("POST", "/database/reload"), ("DELETE", "/feedback"), ("GET", "/../x")],
)
def test_only_the_plugins_sidecar_calls_are_forwarded(method: str, path: str) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    code, out, _ = run_task(stash_input(mode="proxy", url=url, method=method, path=path))
    assert code == 0
    assert out["output"]["status"] == 400
    assert out["output"]["body"]["error"] == f"{method} {path} is not a sidecar call"


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/", "not a url"])
def test_non_http_sidecar_url_is_refused(url: str) -> None:
    code, out, _ = run_task(stash_input(mode="proxy", url=url, method="GET", path="/health"))
    assert code == 0
    assert out["output"]["status"] == 400
    assert "is not an http(s) URL" in out["output"]["body"]["error"]


def test_unreachable_sidecar_is_reported_not_raised() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    body = json.dumps({"scene_id": "1"})
    stdin = stash_input(mode="proxy", url=url, method="POST", path="/identify/scene", body=body)
    code, out, _ = run_task(stdin)
    assert code == 0
    assert "refused" in out["output"]["unreachable"].lower()


def test_health_task_logs_for_stash() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    code, out, stderr = run_task(stash_input(mode="health", url=url))
    assert code == 0 and "unreachable" in out["output"]
    assert stderr.startswith("\x01i\x02stash-sense sidecar health: ")


def test_bad_input_from_stash_is_one_error() -> None:
    code, out, _ = run_task("{not json")
    assert code == 1
    assert out["error"].startswith("stash-sense: bad input from Stash: ")
