"""The scan schedule against the Stash stand-in over real HTTP, with the real models: it starts
a first scan, then scans only what Stash edited since; a user's pause holds, a shutdown's pause
resumes; a scan in another process is never overlapped; the background thread starts a scan
by itself and stops when told; a malformed schedule is one clear error."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path

import httpx
import pytest
from scan_stash import make_scenes

from stash_sense.app.library import ScanRunner
from stash_sense.app.library_schedule import SHUTDOWN_PAUSE, ScanSchedule, interval_s
from stash_sense.app.recognizer import Recognizer
from stash_sense.errors import ConfigError
from stash_sense.library import LibraryStore
from stash_sense.library.lock import ScanLock
from stash_sense.settings import load_settings
from stash_sense_devkit.standins.launch import serve_in_subprocess


@pytest.fixture(scope="module")
def stash(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Iterator[str]:
    scenes = make_scenes(tmp_path_factory.mktemp("scheduled"), data_dir, 2)
    with serve_in_subprocess("stash", ["--scenes", str(scenes)]) as url:
        yield url


def _edit(url: str, scene_id: str, title: str) -> None:
    answer = httpx.post(f"{url}/graphql", json={
        "query": "mutation($id: ID!, $t: String) { sceneUpdate(input: {id: $id, title: $t}) "
                 "{ id } }",
        "variables": {"id": scene_id, "t": title},
    }).json()  # fmt: skip
    assert not answer.get("errors"), answer
    time.sleep(1.1)  # Stash keeps whole seconds: the next edit is in a later one


def _runner(store: LibraryStore, url: str, recognizer: Recognizer) -> ScanRunner:
    return ScanRunner(store, url, None, lambda: nullcontext(recognizer),
                      memory_ceiling_mb=1e9)  # fmt: skip


def test_scheduled_looks(stash: str, recognizer: Recognizer, tmp_path: Path) -> None:
    store = LibraryStore.in_folder(tmp_path)
    runner = _runner(store, stash, recognizer)
    schedule = ScanSchedule(runner, "60", 3600, frames=6)
    assert schedule.look() == "started"  # no scan yet: the first, of the default scope
    runner.wait()
    first = runner.status()
    assert (first.status, first.scope, first.done, first.scanned_this_run) == (
        "done", "untagged", 2, 2)  # fmt: skip

    _edit(stash, "2", "edited once")
    assert schedule.look() == "started"  # only what Stash edited since the finished scan
    runner.wait()
    second = runner.status()
    assert second.scan_id != first.scan_id and second.status == "done"
    # listed from the finished scan's watermark (scenes edited in its second are listed again
    # and skipped as done): only the edited scene is scanned
    assert second.scanned_this_run == 1 and second.done == second.total

    _edit(stash, "1", "edited twice")
    assert schedule.look() == "started"
    runner.pause()  # the user pauses it: the schedule leaves it paused
    runner.wait()
    assert runner.status().reason == "paused by the user"
    assert schedule.look() == "held: paused by the user"
    latest = store.latest_scan()
    assert latest is not None
    store.set_scan(latest.id, reason=SHUTDOWN_PAUSE)  # paused by a shutdown: resumed
    assert schedule.look() == "resumed"
    runner.wait()
    resumed = runner.status()
    assert resumed.scan_id == latest.id and resumed.status == "done"

    other = ScanLock(store.path)  # a `stash-sense scan` in another process holds the lock
    other.acquire()
    try:
        held = schedule.look()
        assert held.startswith("held: a scan is already running"), held
        assert not runner.running
    finally:
        other.release()
    assert ScanSchedule(runner, "60", 3600, new_scenes=False).look() == "nothing to do"

    # the thread: its first look starts a scan by itself; stop() ends it
    background = ScanSchedule(runner, "1", 0.3, first_delay_s=0.1)
    background.start()
    deadline = time.monotonic() + 30
    while background.last is None and time.monotonic() < deadline:
        time.sleep(0.05)
    background.stop()
    runner.wait()
    assert background.last in ("started", "running")
    assert store.latest_scan().id > resumed.scan_id  # type: ignore[union-attr,operator]
    store.close()


def test_schedule_values(monkeypatch: pytest.MonkeyPatch) -> None:
    assert interval_s("off") is None
    assert (interval_s("hourly"), interval_s("daily"), interval_s("15")) == (3600, 86400, 900)
    for bad in ("weekly", "0", "-5", "1.5"):
        with pytest.raises(ValueError, match="off, hourly, daily or a number of minutes"):
            interval_s(bad)
    monkeypatch.setenv("STASH_SENSE_SCAN_SCHEDULE", "weekly")
    with pytest.raises(ConfigError, match="SCAN_SCHEDULE"):
        load_settings()
    monkeypatch.setenv("STASH_SENSE_SCAN_SCHEDULE", "daily")
    monkeypatch.setenv("STASH_SENSE_SCAN_NEW_SCENES", "off")
    loaded = load_settings()
    assert (loaded.sidecar.scan_schedule, loaded.sidecar.scan_new_scenes) == ("daily", False)
