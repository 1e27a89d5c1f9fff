"""`stash-sense build` against a public source whose API key is not set stops before any request."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize("preset", ["stashdb", "tpdb"])
def test_a_preset_without_its_key_exits_2_naming_the_variable(preset: str, tmp_path: Path) -> None:
    variable = f"STASH_SENSE_{preset.upper()}_API_KEY"
    with socket.socket() as server:  # the "server": any connection to it is a request sent
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.setblocking(False)
        port = server.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("STASH_SENSE_")}
        url = f"http://127.0.0.1:{port}"
        env |= {"HOME": str(tmp_path), f"STASH_SENSE_{preset.upper()}_URL": url}
        cmd = [sys.executable, "-m", "stash_sense.cli.app", "build", "--db", str(tmp_path / "db")]
        proc = subprocess.run(
            [*cmd, "--endpoint", preset], capture_output=True, text=True, timeout=30, env=env
        )
        with pytest.raises(BlockingIOError):
            server.accept()
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"error: endpoint {preset!r} needs an API key: set {variable} "
        f"(or api_key in [endpoints.{preset}] of the config file)"
    ]
    assert not (tmp_path / "db").exists()
