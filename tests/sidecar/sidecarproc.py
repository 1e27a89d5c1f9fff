"""Helpers for the sidecar tests: run `stash-sense serve` as a subprocess and talk to it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from stash_sense_devkit.standins.launch import free_port

API_KEY = "test-key-123"


@dataclass
class Sidecar:
    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    def client(self, key: str | None = API_KEY, timeout: float = 120.0) -> httpx.Client:
        headers = {"X-API-Key": key} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def start_sidecar(
    db: Path,
    stash_url: str,
    data_dir: Path,
    *extra: str,
    api_key: str | None = API_KEY,
    env: dict[str, str] | None = None,
) -> Sidecar:
    """`stash-sense serve` configured through the environment, as the plugin tests do."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    environ = os.environ.copy()
    environ.update(
        STASH_SENSE_STASH_URL=stash_url,
        STASH_SENSE_DATA_DIR=str(data_dir),
        STASH_SENSE_FEEDBACK_DB=str(data_dir / "feedback.sqlite"),
    )
    if api_key:
        environ["STASH_SENSE_API_KEY"] = api_key
    environ.update(env or {})
    log = data_dir / f"sidecar-{port}.log"
    cmd = [sys.executable, "-m", "stash_sense.cli.app", "serve", "--db", str(db)]
    cmd += ["--host", "127.0.0.1", "--port", str(port), *extra]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=environ)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"sidecar exited ({proc.returncode}):\n{log.read_text()}")
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return Sidecar(proc, url, log)
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"sidecar did not answer within 120 s:\n{log.read_text()}")
