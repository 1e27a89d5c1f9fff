"""`stash-sense scan` in a subprocess: killed with SIGKILL mid-scan, then run again, it scans no
scene twice and loses none; bad input gives one line."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from scan_stash import make_scenes

from stash_sense_devkit.standins.launch import serve_in_subprocess

SCENES = 5


def scan_cmd(db: str, url: str, data: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "stash_sense.cli.app", "scan", "--db", db, "--stash-url", url,
            "--data-dir", str(data), "--frames", "6", *extra]  # fmt: skip


def done_scenes(data: Path) -> dict[str, float]:
    with sqlite3.connect(data / "library.sqlite") as db:
        try:
            rows = db.execute("SELECT scene_id, scanned_at FROM scenes WHERE status = 'done'")
        except sqlite3.OperationalError:  # the scan has made the file, not yet its tables
            return {}
        return {str(r[0]): float(r[1]) for r in rows}


def test_kill_9_mid_scan_then_resume(
    test_db: dict[str, Any], data_dir: Path, tmp_path: Path
) -> None:
    scenes = make_scenes(tmp_path / "scenes", data_dir, SCENES)
    data = tmp_path / "data"
    with serve_in_subprocess("stash", ["--scenes", str(scenes)]) as url:
        log = (tmp_path / "first.log").open("wb")
        first = subprocess.Popen(
            scan_cmd(test_db["db"], url, data), stdout=subprocess.DEVNULL, stderr=log,
            env=os.environ.copy(),
        )  # fmt: skip
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and first.poll() is None:
            if (data / "library.sqlite").exists() and len(done_scenes(data)) >= 2:
                break
            time.sleep(0.2)
        first.send_signal(signal.SIGKILL)
        assert first.wait() == -signal.SIGKILL, (tmp_path / "first.log").read_text()
        log.close()
        before = done_scenes(data)
        assert 2 <= len(before) < SCENES

        again = subprocess.run(
            [*scan_cmd(test_db["db"], url, data), "--json"], capture_output=True, text=True,
            timeout=300, check=False,
        )  # fmt: skip
        assert again.returncode == 0, again.stderr
        status = json.loads(again.stdout)
        assert status["status"] == "done" and status["total"] == SCENES
        assert status["done"] == SCENES and status["failed"] == 0
        after = done_scenes(data)
        assert sorted(after) == [str(i) for i in range(1, SCENES + 1)]  # none lost
        assert {k: after[k] for k in before} == before  # none done before scanned again
        assert status["scanned_this_run"] == SCENES - len(before)


def test_bad_input_is_one_line(test_db: dict[str, Any], tmp_path: Path) -> None:
    cases = [
        ([], "no Stash URL"),
        (["--stash-url", "ftp://x"], "http(s) URL"),
        (["--stash-url", "http://127.0.0.1:9", "--scope", "since"], "needs a date"),
        (["--stash-url", "http://127.0.0.1:9", "--scope", "since", "--since", "yesterday"],
         "--since"),
    ]  # fmt: skip
    for extra, message in cases:
        cmd = [sys.executable, "-m", "stash_sense.cli.app", "scan", "--db", test_db["db"],
               "--data-dir", str(tmp_path), *extra]  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        assert done.returncode in (1, 2), (extra, done.stderr)
        assert len(lines) == 1 and message in lines[0], (extra, done.stderr)
        assert "Traceback" not in done.stderr


def test_ctrl_c_pauses_and_the_next_run_resumes(
    test_db: dict[str, Any], data_dir: Path, tmp_path: Path
) -> None:
    scenes = make_scenes(tmp_path / "scenes", data_dir, 3)
    data = tmp_path / "data"
    with serve_in_subprocess("stash", ["--scenes", str(scenes)]) as url:
        first = subprocess.Popen(
            [*scan_cmd(test_db["db"], url, data), "--json"], stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, env=os.environ.copy(),
        )  # fmt: skip
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and first.poll() is None:
            if (data / "library.sqlite").exists() and len(done_scenes(data)) >= 1:
                break
            time.sleep(0.2)
        first.send_signal(signal.SIGINT)
        out, err = first.communicate(timeout=120)
        assert first.returncode == 0 and "Traceback" not in err, err
        paused = json.loads(out)
        assert paused["status"] == "paused" and paused["reason"] == "paused by the user"
        assert 1 <= paused["done"] < 3
        again = subprocess.run(
            [*scan_cmd(test_db["db"], url, data), "--json"], capture_output=True, text=True,
            timeout=300, check=False,
        )  # fmt: skip
        resumed = json.loads(again.stdout)
        assert resumed["status"] == "done" and resumed["scan_id"] == paused["scan_id"]
        assert resumed["scanned_this_run"] == 3 - paused["done"]
