"""The sidecar installs a release on POST /database/update and swaps it in while answering 50
/identify requests; /health and /status say when a newer database exists, also after a rollback."""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from relsynth import Host, cli

from stash_sense.release import generate_key, load_signing_key, package

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sidecar"))  # the sidecar's starter
from sidecarproc import start_sidecar

REQUESTS = 50


def two_releases(db: Path, base: Path) -> tuple[Path, Path]:
    """Releases 1.0 (the enrolled test database) and 2.0 (one performer renamed)."""
    key = base / "release.key"
    keys_json = base / "keys.json"
    keys_json.write_text(json.dumps({"keys": [generate_key(key)]}))
    signing = [load_signing_key(key)]
    out, served = base / "releases", base / "served"
    package(db, out, signing, "1.0", part_size=64 * 1024)
    shutil.copytree(out, served / "stage1", ignore=shutil.ignore_patterns(".canonical"))
    edited = base / "edited"
    shutil.copytree((db / "current").resolve(), edited)
    with contextlib.closing(sqlite3.connect(edited / "faces.sqlite")) as conn:
        conn.execute("UPDATE performers SET name = name || ' (2.0)'")
        conn.commit()
    package(edited, out, signing, "2.0", part_size=64 * 1024)
    shutil.copytree(out, served / "stage2", ignore=shutil.ignore_patterns(".canonical"))
    return served, keys_json


def test_hot_swap_answers_every_request(
    test_db: dict[str, Any],
    data_dir: Path,
    host_for: Callable[..., Host],
    tmp_path: Path,
) -> None:
    served, keys_json = two_releases(Path(test_db["db"]), tmp_path)
    host = host_for(served)
    db = tmp_path / "db"
    first = cli("db", "update", "--db", str(db), "--index", f"{host.url}/stage1/index.json",
                "--keys", str(keys_json))  # fmt: skip
    assert first.returncode == 0, first.stderr
    sidecar = start_sidecar(
        db, "http://127.0.0.1:9", tmp_path / "data", "--workers", "2", "--queue", "64",
        "--release-index", f"{host.url}/stage2/index.json", "--release-keys", str(keys_json),
    )  # fmt: skip
    try:
        # /health starts the daily check in the background and reports it once done
        deadline = time.monotonic() + 30
        while True:
            with sidecar.client() as c:
                status = c.get("/status").json()["database_update"]
            if status["checked_at"] or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert status["available"] is True and status["newest"] == "2.0"
        assert status["current"] == "1.0"
        assert httpx.get(sidecar.url + "/health").json()["database_update_available"] is True
        index_reads = sum(r["path"].endswith("index.json") for r in host.requests())
        httpx.get(sidecar.url + "/health")
        assert sum(r["path"].endswith("index.json") for r in host.requests()) == index_reads

        photo = data_dir / "faces" / "lfw-dev" / "Monica_Seles" / "4.jpg"
        data = photo.read_bytes()
        answers: list[tuple[float, int, list[str]]] = []
        swapped: list[float] = []

        def ask() -> None:
            # ask again and again until the swap is done, a few answers came after it, and at
            # least REQUESTS were answered in all
            def more() -> bool:
                late = sum(at > swapped[0] for at, _, _ in answers) if swapped else 0
                return late < 4 or len(answers) < REQUESTS

            with sidecar.client() as c:
                while more():
                    r = c.post("/identify", content=data, headers={"Content-Type": "image/jpeg"})
                    faces = r.json().get("faces", [])
                    names = [f["matches"][0]["name"] for f in faces if f["matches"]]
                    answers.append((time.monotonic(), r.status_code, names))

        threads = [threading.Thread(target=ask) for _ in range(4)]
        for t in threads:
            t.start()
        while len(answers) < 3:
            time.sleep(0.01)
        with sidecar.client() as c:
            started = c.post("/database/update")
            assert started.status_code == 202, started.text
            assert c.post("/database/update").status_code == 409
            while (state := c.get("/database/update").json())["state"] == "running":
                time.sleep(0.05)
            swapped.append(time.monotonic())
            assert state["state"] == "done", state
            assert state["result"]["installed"] == "2.0"
            info = c.get("/database/info").json()
        for t in threads:
            t.join()
        assert len(answers) >= REQUESTS
        assert all(code == 200 for _, code, _ in answers), answers
        before = [n for at, _, n in answers if at < swapped[0]]
        after = [n for at, _, n in answers if at > swapped[0]]
        assert before[0] == ["Monica Seles"] and after[-1] == ["Monica Seles (2.0)"]
        assert info["generation"] == "gen-000002"
        with sidecar.client() as c:
            details = c.get("/status").json()["database_update"]
        assert details["current"] == "2.0" and details["available"] is False
        assert httpx.get(sidecar.url + "/health").json()["database_update_available"] is False

        # back to 1.0 by the CLI, reloaded: the newer release is available again at once
        back = cli("db", "rollback", "--db", str(db))
        assert back.returncode == 0, back.stderr
        with sidecar.client() as c:
            reloaded = c.post("/database/reload", json={})
            assert reloaded.status_code == 200, reloaded.text
            assert reloaded.json()["generation"] == "gen-000001"
            details = c.get("/status").json()["database_update"]
        assert details["current"] == "1.0" and details["newest"] == "2.0"
        assert details["available"] is True
        assert httpx.get(sidecar.url + "/health").json()["database_update_available"] is True
    finally:
        sidecar.stop()
