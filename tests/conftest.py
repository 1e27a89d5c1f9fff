"""Fixtures shared by every test area: where the repository and its test data (tests/data) live,
and the small enrolled face database that the scene, sidecar and plugin tests share."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = REPO_ROOT / "tests" / "data"


@pytest.fixture(autouse=True)
def _process_wide_settings_restored() -> Iterator[None]:
    """A command run in this process (cli.common.settings) sets the models folder and the device
    for the whole process; each test starts from and leaves the defaults."""
    from stash_sense.faces.embedders.runtime import use_device
    from stash_sense.models import use_models_dir

    yield
    use_models_dir(None)
    use_device("auto")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """tests/data: a few LFW identities and one evaluation scene (see its README)."""
    return DATA_DIR


def _record_command_lines(stop: threading.Event, seen: list[str], names: tuple[str, ...]) -> None:
    while not stop.is_set():
        for proc in Path("/proc").iterdir():
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if any(name in cmdline for name in names):
                seen.append(cmdline)
        time.sleep(0.005)


@contextlib.contextmanager
def _watching(*names: str) -> Iterator[list[str]]:
    seen: list[str] = []
    stop = threading.Event()
    watcher = threading.Thread(target=_record_command_lines, args=(stop, seen, names), daemon=True)
    watcher.start()
    try:
        yield seen
    finally:
        stop.set()
        watcher.join()


@pytest.fixture
def command_lines() -> Callable[..., contextlib.AbstractContextManager[list[str]]]:
    """`with command_lines("ffmpeg", "ffprobe") as seen:` collects every command line on this
    machine that names one of them while the block runs (to check that no secret is on one)."""
    return _watching


@pytest.fixture(scope="session")
def test_db(tmp_path_factory: pytest.TempPathFactory, repo_root: Path) -> dict[str, Any]:
    """plugin/tests/lib/make_test_db.py: 0.jpg of eval scene-1's people + 5 distractors, enrolled
    with the real command; its JSON description (db path, performers)."""
    out = tmp_path_factory.mktemp("test-db")
    done = subprocess.run(
        [sys.executable, str(repo_root / "plugin" / "tests" / "lib" / "make_test_db.py"), str(out)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    described: dict[str, Any] = json.loads(done.stdout)
    return described
