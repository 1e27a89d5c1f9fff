"""`db update` and `db rollback` against a release host: full install, delta chain, rollback."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from relsynth import EMBEDDERS, Host, World, add_performer, cli

from stash_sense.database import DatabaseWriter, FaceDatabase
from stash_sense.database.publish import sha256_file


def update(db: Path, host: Host, stage: int, world: World, *extra: str) -> dict:
    done = cli(
        "db", "update", "--db", str(db), "--index", f"{host.url}/stage{stage}/index.json",
        "--keys", str(world.keys_json), "--json", *extra,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result: dict = json.loads(done.stdout)
    return result


def files_of(folder: Path) -> dict[str, str]:
    return {p.name: sha256_file(p) for p in sorted(folder.iterdir()) if p.name != "release.json"}


def test_a_delta_chain_gives_the_full_release_byte_for_byte(
    world: World, host_for: Callable[..., Host], tmp_path: Path
) -> None:
    host = host_for(world.served)
    by_delta, by_full = tmp_path / "by-delta", tmp_path / "by-full"
    first = update(by_delta, host, 1, world)
    assert first["installed"] == world.versions[0] and first["method"] == "full"
    check = update(by_delta, host, 3, world, "--check")
    assert (
        check["available"] and check["method"] == "delta" and check["newest"] == world.versions[2]
    )
    chained = update(by_delta, host, 3, world)
    assert chained["method"] == "delta" and chained["installed"] == world.versions[2]
    full = update(by_full, host, 3, world)
    assert full["method"] == "full"
    assert chained["download_bytes"] < full["download_bytes"] / 3
    assert files_of(by_delta / "current") == files_of(by_full / "current")
    with FaceDatabase.open(by_delta, EMBEDDERS) as db:
        assert db.manifest.counts["performers"] == 42
        assert db.performer_ids_by_name("Renamed 3 v3")
        assert not db.performer_ids_by_name("Performer 8")  # deleted in the third release
        db.load_indices()
    again = update(by_delta, host, 3, world)
    assert again["updated"] is False and again["current"] == world.versions[2]
    # no downloads left behind, the previous generation kept for a rollback
    assert not (by_delta / "downloads").exists()
    assert sorted(p.name for p in by_delta.glob("gen-*")) == ["gen-000001", "gen-000002"]


def test_rollback_returns_to_the_previous_generation(
    world: World, host_for: Callable[..., Host], tmp_path: Path
) -> None:
    host = host_for(world.served)
    db = tmp_path / "db"
    refused = cli("db", "rollback", "--db", str(db))
    assert refused.returncode == 1 and "no published database" in refused.stderr
    update(db, host, 2, world)
    lonely = cli("db", "rollback", "--db", str(db))
    assert lonely.returncode == 1 and "no previous generation" in lonely.stderr
    update(db, host, 3, world)
    done = cli("db", "rollback", "--db", str(db))
    assert done.returncode == 0, done.stderr
    assert "gen-000002 to gen-000001" in done.stdout
    record = json.loads((db / "current" / "release.json").read_text())
    assert record["manifest"]["version"] == world.versions[1]
    with FaceDatabase.open(db, EMBEDDERS) as opened:
        assert opened.manifest.counts["performers"] == 41
    # the next update installs the newest again, from the rolled-back generation
    assert update(db, host, 3, world)["installed"] == world.versions[2]


def test_requests_carry_nothing_but_themselves(
    world: World, host_for: Callable[..., Host], tmp_path: Path
) -> None:
    host = host_for(world.served)
    update(tmp_path / "db", host, 3, world)
    requests = host.requests()
    assert len(requests) > 3
    for request in requests:
        names = {k.lower() for k in request["headers"]}
        # the host sets a cookie on every answer: it never comes back
        assert names <= {"host", "accept", "accept-encoding", "connection", "range"}, names


def test_downloads_stay_on_the_index_host(
    world: World, host_for: Callable[..., Host], tmp_path: Path, served: Path
) -> None:
    elsewhere = host_for(world.served)
    index = json.loads((served / "stage3" / "index.json").read_text())
    index["releases"][0]["full"]["manifest"] = f"{elsewhere.url}/stage3/2026.1.15/full.release.json"
    (served / "stage3" / "index.json").write_text(json.dumps(index))
    target = f"{elsewhere.url}/stage3/index.json"
    host = host_for(served, "--redirect", f"/moved/index.json={target}")
    db = tmp_path / "db"
    done = cli("db", "update", "--db", str(db), "--index", f"{host.url}/stage3/index.json",
               "--keys", str(world.keys_json))  # fmt: skip
    assert done.returncode == 1 and "releases come only from" in done.stderr
    moved = cli("db", "update", "--db", str(db), "--index", f"{host.url}/moved/index.json",
                "--keys", str(world.keys_json))  # fmt: skip
    assert moved.returncode == 1 and "releases come only from" in moved.stderr
    assert elsewhere.requests() == []


def test_rollback_of_a_relative_path_finds_the_previous_generation(tmp_path: Path) -> None:
    with DatabaseWriter.open(tmp_path / "db", EMBEDDERS) as w:
        add_performer(w, np.random.default_rng(0), 1)
        w.publish()
        add_performer(w, np.random.default_rng(1), 2)
        w.publish()
    done = subprocess.run(
        [sys.executable, "-m", "stash_sense.cli.app", "db", "rollback", "--db", "db"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "gen-000002 to gen-000001" in done.stdout
    assert (tmp_path / "db" / "current").resolve().name == "gen-000001"
