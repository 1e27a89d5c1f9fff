"""Synthetic databases and release folders for the release tests (random vectors, no model)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from stash_sense.database import DatabaseWriter, EmbedderInfo, PerformerRecord
from stash_sense_devkit.standins.launch import free_port

EMBEDDERS = [EmbedderInfo("alpha", 32, "1.0", "a" * 64), EmbedderInfo("beta", 16, "2.0", "b" * 64)]
ENDPOINT = "https://stashdb.example/graphql"
HERE = Path(__file__).resolve().parent


def add_performer(w: DatabaseWriter, rng: np.random.Generator, i: int, faces: int = 2) -> int:
    rec = PerformerRecord(f"Performer {i}", aliases=[f"P{i}"], stash_ids=[(ENDPOINT, f"s{i}")])
    pid = w.upsert_performer(rec, "stashdb")
    for k in range(faces):
        add_face(w, rng, pid, f"https://img.example/{i}/{k}.jpg")
    return pid


def add_face(w: DatabaseWriter, rng: np.random.Generator, pid: int, image: str) -> None:
    vectors = {}
    for e in EMBEDDERS:
        v = rng.normal(size=e.dim).astype(np.float32)
        vectors[e.name] = (v / np.linalg.norm(v)).tobytes()
    w.add_face_vectors(pid, "stashdb", image, 0, (1.0, 2.0, 50.0, 60.0), 0.9, "{}", vectors)


def change(w: DatabaseWriter, rng: np.random.Generator, step: int, n: int) -> None:
    """One week of upstream changes: renames, a deletion, new performers, a new face."""
    with w.transaction():
        for i in (step, step + 3):
            w.upsert_performer(
                PerformerRecord(f"Renamed {i} v{step}", stash_ids=[(ENDPOINT, f"s{i}")]), "stashdb"
            )
        w.mark_deleted(ENDPOINT, f"s{step + 5}")
        for i in range(n + 2 * step, n + 2 * step + 2):
            add_performer(w, rng, i)
        add_face(w, rng, step + 7, f"https://img.example/extra/{step}.jpg")


@dataclass
class World:
    """Release folders as the host served them after each version (stage1, stage2, stage3)."""

    served: Path
    key: Path
    other_key: Path
    keys_json: Path
    versions: list[str]

    def stage(self, n: int) -> Path:
        return self.served / f"stage{n}"


def make_world(base: Path, n: int = 40) -> World:
    from stash_sense.release import generate_key, load_signing_key, package

    key, other = base / "release.key", base / "other.key"
    entry = generate_key(key)
    generate_key(other)
    keys_json = base / "keys.json"
    keys_json.write_text(json.dumps({"keys": [entry]}))
    signing = [load_signing_key(key)]
    src, out, served = base / "src", base / "releases", base / "served"
    rng = np.random.default_rng(7)
    versions = ["2026.1.1", "2026.1.8", "2026.1.15"]
    with DatabaseWriter.open(src, EMBEDDERS) as w:
        with w.transaction():
            for i in range(n):
                add_performer(w, rng, i)
        for step, version in enumerate(versions, start=1):
            if step > 1:
                change(w, rng, step, n)
            w.publish()
            package(src, out, signing, version, part_size=4096)
            shutil.copytree(
                out, served / f"stage{step}", ignore=shutil.ignore_patterns(".canonical")
            )
    return World(served, key, other, keys_json, versions)


@dataclass
class Host:
    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    def requests(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


def start_host(root: Path, log: Path, *extra: str) -> Host:
    """`releasehost.py` serving `root` in its own process."""
    port = free_port()
    cmd = [sys.executable, str(HERE / "releasehost.py"), str(root), "--port", str(port)]
    proc = subprocess.Popen([*cmd, "--log", str(log), *extra])
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            httpx.get(url + "/", timeout=1)
            log.unlink(missing_ok=True)
            return Host(proc, url, log)
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the release host did not start")


def cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """`stash-sense ...` in its own process."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "stash_sense.cli.app", *args],
        capture_output=True, text=True, timeout=timeout, env=full_env, check=False,
    )  # fmt: skip


def cli_popen(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.Popen(
        [sys.executable, "-m", "stash_sense.cli.app", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=full_env,
    )  # fmt: skip
