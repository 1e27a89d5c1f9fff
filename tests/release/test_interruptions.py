"""kill -9 during `db update`: downloads resume; the database is old or new, never a mix."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable
from pathlib import Path

from relsynth import EMBEDDERS, Host, World, cli, cli_popen

from stash_sense.database import FaceDatabase
from stash_sense.database.publish import sha256_file

V1, V3 = "2026.1.1", "2026.1.15"


def update_args(db: Path, host: Host, world: World, stage: int = 3) -> list[str]:
    return ["db", "update", "--db", str(db), "--index", f"{host.url}/stage{stage}/index.json",
            "--keys", str(world.keys_json)]  # fmt: skip


def whole(db: Path) -> str | None:
    """The installed version, after checking every file against its signed manifest."""
    if not (db / "current").exists():
        return None
    record = json.loads((db / "current" / "release.json").read_text())["manifest"]
    for entry in record["files"]:
        assert sha256_file(db / "current" / entry["name"]) == entry["sha256"], entry["name"]
    with FaceDatabase.open(db, EMBEDDERS) as opened:
        opened.load_indices()
    return str(record["version"])


def wait_for(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_a_killed_download_resumes_where_it_stopped(
    world: World, host_for: Callable[..., Host], tmp_path: Path
) -> None:
    host = host_for(world.served, "--rate", "4000")
    db = tmp_path / "db"
    folder = db / "downloads" / f"{V3}-full"
    manifest = json.loads((world.stage(3) / V3 / "full.release.json").read_text())["manifest"]
    sizes = {p["name"]: p["size"] for p in manifest["parts"]}

    def partial() -> list[Path]:
        found = folder.glob("*.tar.gz.*") if folder.exists() else []
        return [p for p in found if 0 < p.stat().st_size < sizes[p.name]]

    proc = cli_popen(*update_args(db, host, world))
    wait_for(lambda: len(list(folder.glob("*"))) >= 3 and bool(partial()))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    cut = partial()[0]
    have = cut.stat().st_size
    finished = {p.name for p in folder.glob("*") if p.stat().st_size == sizes[p.name]}
    before = len(host.requests())
    done = cli(*update_args(db, host, world), timeout=120)
    assert done.returncode == 0, done.stderr
    assert whole(db) == V3
    again = host.requests()[before:]
    resumed = [r for r in again if r["path"].endswith(cut.name)]
    assert resumed and resumed[0]["headers"].get("Range") == f"bytes={have}-"
    assert not any(r["path"].rsplit("/", 1)[-1] in finished for r in again)


def test_a_kill_before_the_swap_leaves_the_old_database(
    world: World, host_for: Callable[..., Host], tmp_path: Path
) -> None:
    host = host_for(world.served)
    db = tmp_path / "db"
    assert cli(*update_args(db, host, world, stage=1)).returncode == 0
    proc = cli_popen(*update_args(db, host, world), "--pause-before-swap", "60")
    wait_for(lambda: (db / "gen-000002").is_dir())  # unpacked, verified, renamed; not swapped
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert whole(db) == V1
    done = cli(*update_args(db, host, world))
    assert done.returncode == 0, done.stderr
    assert whole(db) == V3
    assert sorted(p.name for p in db.glob("gen-*")) == ["gen-000001", "gen-000003"]


def test_kills_at_any_moment_leave_old_or_new(
    world: World, host_for: Callable[..., Host], tmp_path: Path
) -> None:
    host = host_for(world.served, "--rate", "40000")
    db = tmp_path / "db"
    assert cli(*update_args(db, host, world, stage=1)).returncode == 0
    seen = set()
    for delay in (0.2, 0.5, 0.8, 1.1, 1.4, 1.7, 2.0):
        proc = cli_popen(*update_args(db, host, world))
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        seen.add(whole(db))
        assert seen <= {V1, V3}
    done = cli(*update_args(db, host, world))
    assert done.returncode == 0, done.stderr
    assert whole(db) == V3
