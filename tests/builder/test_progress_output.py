"""On a terminal, retry and 429 log lines print above the live progress bar, never glued onto it
(the bar and the log share one rich console)."""

from __future__ import annotations

import os
import re
import select
import subprocess
from pathlib import Path

from buildkit import build_cmd, stashbox, write_config

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def run_in_a_terminal(cmd: list[str], timeout_s: float = 180) -> tuple[int, str]:
    """Run `cmd` with stdout and stderr on a pseudo-terminal; (status, everything it wrote)."""
    master, slave = os.openpty()
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "120", "LINES": "40"}
    proc = subprocess.Popen(cmd, stdout=slave, stderr=slave, stdin=subprocess.DEVNULL, env=env)
    os.close(slave)
    chunks: list[bytes] = []
    while True:
        ready, _, _ = select.select([master], [], [], timeout_s)
        if not ready:
            proc.kill()
            break
        try:
            data = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return proc.wait(timeout=30), b"".join(chunks).decode("utf-8", "replace")


def test_429_lines_are_not_glued_onto_the_bar(faces_dir: Path, tmp_path: Path) -> None:
    with stashbox(faces_dir, "--rate-limit", "4") as standin:
        config = write_config(tmp_path / "ep.toml", "box", standin.graphql_url, rate_limit=50)
        status, output = run_in_a_terminal(build_cmd(tmp_path / "db", config, "box"))
    assert status == 0, output
    lines = [ANSI.sub("", segment) for segment in output.split("\n")]
    throttled = [line for line in lines if "429 from" in line]
    assert throttled, "the stand-in was to throttle the build"
    for line in throttled:  # what stays on screen after the last carriage return
        assert "━" not in line.rstrip("\r").split("\r")[-1], repr(line)
    assert "━" in output  # there was a bar
