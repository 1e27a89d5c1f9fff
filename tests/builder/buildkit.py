"""Helpers of the builder tests: stand-ins, endpoint files, `stash-sense build` runs."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from stash_sense_devkit.standins.control import StandIn
from stash_sense_devkit.standins.launch import serve_in_subprocess

NAMES = [
    "Adam_Sandler",
    "Celine_Dion",
    "Kevin_Spacey",
    "Michelle_Yeoh",
    "Richard_Gere",
    "Serena_Williams",
    "Tom_Cruise",
    "Yao_Ming",
]


@contextmanager
def stashbox(faces: Path, *args: str) -> Iterator[StandIn]:
    """A fresh stash-box stand-in: `stash-sense-dev stashbox --faces FACES ARGS`."""
    with serve_in_subprocess("stashbox", ["--faces", str(faces), *args]) as base:
        yield StandIn(base)


def write_config(path: Path, name: str, url: str, **fields: Any) -> Path:
    """An endpoints TOML file with one endpoint."""
    lines = [f"[endpoints.{name}]", f"url = {json.dumps(url)}"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in fields.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def build_cmd(db: Path, config: Path, endpoint: str, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "stash_sense.cli.app",
        "build",
        "--db",
        str(db),
        "--endpoint",
        endpoint,
        "--config",
        str(config),
        *extra,
    ]


def run_build(
    db: Path, config: Path, endpoint: str, *extra: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`stash-sense build` in a fresh process, as a user runs it."""
    return subprocess.run(
        build_cmd(db, config, endpoint, *extra),
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )


def manifest(db: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((db / "current" / "manifest.json").read_text())
    return data
