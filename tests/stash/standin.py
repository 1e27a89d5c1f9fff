"""Helpers for tests that run the Stash stand-in (`stash-sense-dev stash`) as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from stash_sense_devkit.standins.launch import free_port, wait_ready


def start_stand_in(scenes: Path, *extra: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    cmd = [sys.executable, "-m", "stash_sense_devkit.cli", "stash", "--scenes", str(scenes)]
    proc = subprocess.Popen(
        [*cmd, *extra, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=os.environ.copy(),
    )
    url = f"http://127.0.0.1:{port}"
    wait_ready(url, proc=proc)
    return proc, url


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def gql(url: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """POST one operation to the stand-in; return its data, failing the test on errors."""
    body = httpx.post(f"{url}/graphql", json={"query": query, "variables": variables or {}}).json()
    assert not body.get("errors"), body
    data: dict[str, Any] = body["data"]
    return data
