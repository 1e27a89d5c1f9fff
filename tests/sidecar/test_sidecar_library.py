"""The library scan through the sidecar over HTTP: the scan runs in the background while other
requests are answered, suggestions list the scene's people, a rejection leaves them out and is
listed, reported and undone; bad input is a 400/404 with one line; /docs shows the routes."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sidecarproc import Sidecar, start_sidecar

from stash_sense_devkit.standins.launch import serve_in_subprocess

PEOPLE = {"Ali Naimi", "Monica Seles", "Tommy Thompson"}
DECISION = {"kind": "reject", "scene_id": "1", "person_id": 0, "performer_id": 1}


@pytest.fixture(scope="module")
def library_sidecar(
    test_db: dict[str, Any], data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Sidecar]:
    scenes = tmp_path_factory.mktemp("library-scenes")
    for i in (1, 2):
        (scenes / f"scene-{i}").symlink_to(data_dir / "scenes" / "scene-1")
    with serve_in_subprocess("stash", ["--scenes", str(scenes)]) as stash_url:
        data = tmp_path_factory.mktemp("library-data")
        running = start_sidecar(Path(test_db["db"]), stash_url, data, "--frames", "8")
        try:
            yield running
        finally:
            running.stop()


def _names(page: dict[str, Any], scene_id: str) -> set[str]:
    scene = next(s for s in page["scenes"] if s["scene_id"] == scene_id)
    return {p["candidates"][0]["name"] for p in scene["persons"] if p["candidates"]}


def test_scan_suggest_reject_undo(library_sidecar: Sidecar) -> None:
    with library_sidecar.client() as http:
        started = http.post("/library/scan", json={"scope": "all"})
        assert started.status_code == 202, started.text
        assert http.post("/library/scan", json={"scope": "all"}).status_code == 400  # one at a time
        seen_running = False
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            quick = time.monotonic()
            assert http.get("/health").status_code == 200
            assert time.monotonic() - quick < 2.0  # the scan does not block requests
            status = http.get("/library/scan").json()
            seen_running |= status["running"]
            if not status["running"]:
                break
            time.sleep(0.5)
        assert seen_running
        assert status["status"] == "done" and (status["done"], status["total"]) == (2, 2)
        assert status["scanned_this_run"] == 2 and status["rate_per_hour"] > 0

        page = http.get("/library/suggestions", params={"has_suggestion": "true"}).json()
        assert page["total"] == 2 and _names(page, "1") == PEOPLE
        scene = next(s for s in page["scenes"] if s["scene_id"] == "1")
        monica = next(p for p in scene["persons"] if p["candidates"][0]["name"] == "Monica Seles")
        body = {"kind": "reject", "scene_id": "1", "person_id": monica["person_id"],
                "performer_id": monica["candidates"][0]["performer_id"]}  # fmt: skip
        decided = http.post("/library/decisions", json=body)
        assert decided.status_code == 200, decided.text
        page = http.get("/library/suggestions").json()
        assert "Monica Seles" not in _names(page, "1")
        [rejection] = http.get("/library/rejections").json()["decisions"]
        assert rejection["name"] == "Monica Seles" and rejection["scene_id"] == "1"
        report = http.get("/library/rejections/report").json()
        assert report["rejections"] == 1 and report["by_performer"][0]["name"] == "Monica Seles"
        undone = http.post("/library/decisions/undo", json={}).json()
        assert undone["id"] == decided.json()["id"] and undone["undone_at"]
        assert _names(http.get("/library/suggestions").json(), "1") == PEOPLE
        assert http.get("/library/rejections").json()["decisions"] == []


@pytest.mark.parametrize(
    ("method", "path", "payload", "status"),
    [
        ("get", "/library/suggestions?limit=0", None, 400),
        ("get", "/library/suggestions?lowest_tier=great", None, 400),
        (
            "post",
            "/library/decisions",
            {"kind": "maybe", "scene_id": "1", "person_id": 0, "performer_id": 1},
            400,
        ),
        (
            "post",
            "/library/decisions",
            {"kind": "reject", "scene_id": "99", "person_id": 0, "performer_id": 1},
            404,
        ),
        ("post", "/library/decisions/undo", {"id": 424242}, 404),
        ("post", "/library/scan", {"scope": "since"}, 400),
        ("post", "/library/scan", {"scope": "since", "since": "yesterday"}, 400),
    ],
)
def test_bad_input_is_one_line(
    library_sidecar: Sidecar, method: str, path: str, payload: Any, status: int
) -> None:
    with library_sidecar.client() as http:
        answer = http.request(method.upper(), path, json=payload)
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert isinstance(error, str) and "\n" not in error and "Traceback" not in error


def test_routes_need_the_key_and_show_in_the_docs(library_sidecar: Sidecar) -> None:
    assert httpx.get(f"{library_sidecar.url}/library/scan").status_code == 401
    with library_sidecar.client() as http:
        paths = http.get("/openapi.json").json()["paths"]
    for path in ("/library/scan", "/library/scan/pause", "/library/suggestions",
                 "/library/decisions", "/library/decisions/undo", "/library/rejections",
                 "/library/rejections/report"):  # fmt: skip
        assert path in paths, path


def test_health_routes(library_sidecar: Sidecar) -> None:
    with library_sidecar.client() as http:
        page = http.get("/library/health", params={"kind": "check"})
        assert page.status_code == 200, page.text
        assert set(page.json()) == {"kind", "total", "offset", "items"}
        started = http.post("/library/health/refresh", json={})
        assert started.status_code == 202, started.text
        deadline = time.monotonic() + 60
        while http.get("/library/health/status").json()["running"]:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        status = http.get("/library/health/status").json()
        assert status["reason"] is None and status["total"] == status["done"] == 0, status
        assert http.get("/library/health", params={"kind": "link"}).json()["items"] == []
        for method, path, payload, code in (
            ("GET", "/library/health?kind=everything", None, 400),
            ("POST", "/library/health/decisions", {"item_id": "link:1:x", "kind": "dismiss"}, 404),
            ("POST", "/library/health/decisions", {"item_id": "nope", "kind": "dismiss"}, 400),
            ("POST", "/library/health/decisions/undo", {}, 404),
        ):
            answer = http.request(method, path, json=payload)
            assert answer.status_code == code, answer.text
            assert "\n" not in answer.json()["error"]
        paths = http.get("/openapi.json").json()["paths"]
    for path in ("/library/health", "/library/health/decisions", "/library/health/decisions/undo",
                 "/library/health/refresh", "/library/health/status"):  # fmt: skip
        assert path in paths, path
    assert httpx.get(f"{library_sidecar.url}/library/health?kind=link").status_code == 401


def test_a_schedule_shows_and_a_shutdown_pauses_the_scan(
    test_db: dict[str, Any], data_dir: Path, tmp_path: Path
) -> None:
    scenes = tmp_path / "scenes"
    scenes.mkdir()
    for i in (1, 2, 3):
        (scenes / f"scene-{i}").symlink_to(data_dir / "scenes" / "scene-1")
    data = tmp_path / "data"
    with serve_in_subprocess("stash", ["--scenes", str(scenes)]) as stash_url:
        env = {"STASH_SENSE_SCAN_SCHEDULE": "hourly", "STASH_SENSE_SCAN_NEW_SCENES": "on"}
        running = start_sidecar(Path(test_db["db"]), stash_url, data, "--frames", "8", env=env)
        try:
            with running.client() as http:
                status = http.get("/library/scan").json()
                assert status["schedule"] == "hourly"
                assert 0 < status["next_scheduled_at"] - time.time() <= 60
                assert http.post("/library/scan", json={"scope": "all"}).status_code == 202
                deadline = time.monotonic() + 120
                while http.get("/library/scan").json()["done"] < 1:  # mid-scan: 1 of 3 done
                    assert time.monotonic() < deadline
                    time.sleep(0.2)
        finally:
            running.stop()  # SIGTERM: the sidecar pauses the scan as it shuts down
    with sqlite3.connect(data / "library.sqlite") as db:
        status_, reason = db.execute(
            "SELECT status, reason FROM scans ORDER BY id DESC LIMIT 1"
        ).fetchone()
    assert (status_, reason) == ("paused", "the sidecar shut down")
