"""The plugin's server-side task (sidecar_proxy.py), run the way Stash runs a raw plugin task.

It reads the plugin's settings from Stash (here the Stash stand-in, real schema) with the session
cookie Stash hands it. Its happy path (forwarding /identify/scene and the "Check sidecar" task
against the real sidecar) runs in the browser tests (plugin/tests); here: what it refuses and
how it reports failures.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from stash_sense_devkit.standins.launch import serve_in_subprocess

TASK = Path(__file__).resolve().parents[2] / "plugin" / "stash-sense" / "sidecar_proxy.py"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def stash(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    scenes = tmp_path_factory.mktemp("scenes")
    with serve_in_subprocess("stash", ["--scenes", str(scenes)]) as url:
        yield url


def configure(stash: str, **settings: Any) -> None:
    mutation = 'mutation C($i: Map!) { configurePlugin(plugin_id: "stash-sense", input: $i) }'
    answer = httpx.post(f"{stash}/graphql", json={"query": mutation, "variables": {"i": settings}})
    assert answer.status_code == 200 and "errors" not in answer.json(), answer.text


def run_task(stash: str, stdin: str | None = None, **args: Any) -> tuple[int, dict[str, Any], str]:
    """The task with Stash's input: server_connection (as pkg/plugin/plugins.go makes it) + args."""
    if stdin is None:
        parts = urlsplit(stash)
        connection = {
            "Scheme": "http", "Host": parts.hostname, "Port": parts.port, "Dir": str(TASK.parent),
            "PluginDir": str(TASK.parent), "SessionCookie": {"Name": "session", "Value": "x"},
        }  # fmt: skip
        stdin = json.dumps({"server_connection": connection, "args": args})
    done = subprocess.run(
        [sys.executable, str(TASK)], input=stdin, capture_output=True, text=True, timeout=60
    )
    return done.returncode, json.loads(done.stdout), done.stderr


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/admin"),
        ("POST", "/database/reload"),
        ("DELETE", "/feedback"),
        ("GET", "/../x"),
        ("GET", "/images/1/../../admin"),
        ("GET", "/images/abc"),
        ("GET", "/library/suggestions/../../admin"),
        ("GET", "/library/suggestions?x=1#frag"),
        ("GET", "/library/suggestions?a=b c"),
        ("POST", "/library/suggestions"),
        ("GET", "/library/decisions"),
        ("DELETE", "/library/scan"),
        ("GET", "/library/rejections/report"),
    ],
)
def test_only_the_plugins_sidecar_calls_are_forwarded(stash: str, method: str, path: str) -> None:
    configure(stash, sidecarUrl=f"http://127.0.0.1:{closed_port()}")
    code, out, _ = run_task(stash, mode="proxy", method=method, path=path)
    assert code == 0
    assert out["output"]["status"] == 400
    assert out["output"]["body"]["error"] == f"{method} {path} is not a sidecar call"


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/", "not a url"])
def test_non_http_sidecar_url_is_refused(stash: str, url: str) -> None:
    configure(stash, sidecarUrl=url)
    code, out, _ = run_task(stash, mode="proxy", method="GET", path="/health")
    assert code == 0
    assert out["output"]["status"] == 400
    assert "is not an http(s) URL" in out["output"]["body"]["error"]


def test_the_url_comes_from_the_settings_not_from_the_page(stash: str) -> None:
    dead = f"http://127.0.0.1:{closed_port()}"
    configure(stash, sidecarUrl=dead)
    code, out, _ = run_task(
        stash, mode="proxy", method="GET", path="/health", url="http://169.254.169.254"
    )
    assert code == 0
    assert out["output"]["url"] == dead
    assert "refused" in out["output"]["unreachable"].lower()


def test_check_task_logs_an_unreachable_sidecar(stash: str) -> None:
    dead = f"http://127.0.0.1:{closed_port()}"
    configure(stash, sidecarUrl=dead, apiKey="secret-key")
    code, out, stderr = run_task(stash, mode="health")
    assert code == 0 and out["output"]["url"] == dead and "unreachable" in out["output"]["health"]
    assert stderr.startswith(f"\x01e\x02stash-sense: cannot reach the sidecar at {dead}: ")
    assert "secret-key" not in stderr + json.dumps(out)


def test_stash_unreachable_is_the_tasks_error() -> None:
    connection = {"Scheme": "http", "Host": "0.0.0.0", "Port": closed_port()}
    stdin = json.dumps({"server_connection": connection, "args": {"mode": "health"}})
    code, out, stderr = run_task("", stdin=stdin)
    assert code == 1
    assert out["error"].startswith("stash-sense: cannot read the plugin's settings from Stash at ")
    assert "http://127.0.0.1:" in out["error"], "Stash on 0.0.0.0 is reached on 127.0.0.1"
    assert stderr.startswith("\x01e\x02")


def test_bad_input_from_stash_is_one_error() -> None:
    code, out, _ = run_task("", stdin="{not json")
    assert code == 1
    assert out["error"].startswith("stash-sense: bad input from Stash: ")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/library/scan"),
        ("POST", "/library/scan"),
        ("POST", "/library/scan/pause"),
        ("GET", "/library/suggestions?lowest_tier=possible&studio=Studio%20A&offset=50&limit=50"),
        ("POST", "/library/decisions"),
        ("POST", "/library/decisions/undo"),
        ("GET", "/library/rejections"),
        ("GET", "/library/health?kind=link&offset=0&limit=50"),
        ("GET", "/library/health/status"),
        ("POST", "/library/health/refresh"),
        ("POST", "/library/health/decisions"),
        ("POST", "/library/health/decisions/undo"),
    ],
)
def test_the_review_pages_calls_are_forwarded(stash: str, method: str, path: str) -> None:
    """The library review page's routes go through (here to a closed port: unreachable, not 400)."""
    configure(stash, sidecarUrl=f"http://127.0.0.1:{closed_port()}")
    code, out, _ = run_task(stash, mode="proxy", method=method, path=path)
    assert code == 0
    assert "unreachable" in out["output"], out
