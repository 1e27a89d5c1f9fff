"""Releases that must be refused, each with a clear message and the installed database untouched."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from relsynth import Host, World, cli

from stash_sense.database.publish import sha256_file
from stash_sense.release.keys import load_signing_key, sign

V1, V2, V3 = "2026.1.1", "2026.1.8", "2026.1.15"


def run_update(db: Path, host: Host, world: World, stage: int = 3):  # type: ignore[no-untyped-def]
    return cli("db", "update", "--db", str(db), "--index", f"{host.url}/stage{stage}/index.json",
               "--keys", str(world.keys_json))  # fmt: skip


def installed(db: Path) -> str:
    record = json.loads((db / "current" / "release.json").read_text())
    return str(record["manifest"]["version"])


def assert_clean(db: Path) -> None:
    """Nothing half-done is left: no temporary generation, no temporary link, no work folder."""
    assert not list(db.glob("gen-*.tmp"))
    assert not (db / ".current.tmp").exists()
    assert not (db / "downloads" / "work").exists()


@pytest.fixture
def at_v1(world: World, host_for: Callable[..., Host], tmp_path: Path) -> Path:
    db = tmp_path / "db"
    assert run_update(db, host_for(world.served), world, stage=1).returncode == 0
    return db


def resign(path: Path, key: Path, edit: Callable[[dict], None]) -> None:
    envelope = json.loads(path.read_text())
    edit(envelope["manifest"])
    envelope["signatures"] = [sign(envelope["manifest"], load_signing_key(key))]
    path.write_text(json.dumps(envelope, indent=2))


def full_part(served: Path, version: str, n: int = 2) -> Path:
    return served / "stage3" / version / f"stash-sense-db-{version}-full.tar.gz.{n:03d}"


def test_a_corrupted_part_is_refused_and_deleted(
    world: World, served: Path, host_for: Callable[..., Host], tmp_path: Path
) -> None:
    part = full_part(served, V3)
    data = bytearray(part.read_bytes())
    data[100] ^= 0xFF
    part.write_bytes(bytes(data))
    db = tmp_path / "db"
    done = run_update(db, host_for(served), world)
    assert done.returncode == 1
    assert f"{part.name} does not match its sha256" in done.stderr
    assert not (db / "downloads" / f"{V3}-full" / part.name).exists()
    assert not (db / "current").exists()
    assert_clean(db)
    # the publisher fixes the part: the next run reuses the good parts and finishes
    shutil.copyfile(full_part(world.served, V3), part)
    assert run_update(db, host_for(served), world).returncode == 0
    assert installed(db) == V3


def test_a_truncated_part_is_refused(
    world: World, served: Path, host_for: Callable[..., Host], at_v1: Path
) -> None:
    for version in (V2, V3):  # also the deltas, so that the full release is used
        for part in (served / "stage3" / version).glob("*.tar.gz.*"):
            if part.stat().st_size > 1000:
                part.write_bytes(part.read_bytes()[:1000])
    done = run_update(at_v1, host_for(served), world)
    assert done.returncode == 1
    assert "bytes" in done.stderr and "error:" in done.stderr
    assert installed(at_v1) == V1
    assert_clean(at_v1)


def test_a_wrong_signature_is_refused(
    world: World, served: Path, host_for: Callable[..., Host], at_v1: Path
) -> None:
    path = served / "stage3" / V3 / "full.release.json"
    envelope = json.loads(path.read_text())
    envelope["manifest"]["counts"]["performers"] += 1  # tampered after signing
    path.write_text(json.dumps(envelope))
    index = json.loads((served / "stage3" / "index.json").read_text())
    del index["releases"][0]["delta"]
    (served / "stage3" / "index.json").write_text(json.dumps(index))
    host = host_for(served)
    done = run_update(at_v1, host, world)
    assert done.returncode == 1
    assert "signature by key" in done.stderr and "is wrong" in done.stderr
    assert installed(at_v1) == V1
    assert not any(".tar.gz." in r["path"] for r in host.requests())


def test_an_unknown_key_is_refused(
    world: World, served: Path, host_for: Callable[..., Host], at_v1: Path
) -> None:
    for kind in ("full", "delta"):
        resign(served / "stage3" / V3 / f"{kind}.release.json", world.other_key, lambda m: None)
    done = run_update(at_v1, host_for(served), world)
    assert done.returncode == 1 and "unknown key" in done.stderr
    assert installed(at_v1) == V1
    without_keys = cli("db", "update", "--db", str(at_v1), "--index",
                       f"{host_for(world.served).url}/stage3/index.json")  # fmt: skip
    assert without_keys.returncode == 1 and "no trusted release keys" in without_keys.stderr


def test_a_newer_schema_is_skipped_for_the_newest_readable(
    world: World, served: Path, host_for: Callable[..., Host], at_v1: Path
) -> None:
    index_path = served / "stage3" / "index.json"
    index = json.loads(index_path.read_text())
    index["releases"][0]["schema_version"] = 99
    index["releases"][1]["min_program_version"] = "999.0"
    index_path.write_text(json.dumps(index))
    host = host_for(served)
    check = cli("db", "update", "--db", str(at_v1), "--index", f"{host.url}/stage3/index.json",
                "--check", "--json")  # fmt: skip
    result = json.loads(check.stdout)
    assert result["available"] is False and result["newest"] == V1
    assert result["skipped"] == [
        f"{V3} needs database schema 99 (this program reads 1)",
        f"{V2} needs stash-sense 999.0 or newer (this is 0.1.0)",
    ]
    index["releases"] = index["releases"][:1]
    index_path.write_text(json.dumps(index))
    done = run_update(at_v1, host, world)
    assert done.returncode == 0 and "no release this program can read" in done.stdout
    assert "skipped release" in done.stderr
    assert installed(at_v1) == V1


def test_a_full_disk_is_refused_before_downloading(
    world: World, served: Path, host_for: Callable[..., Host], tmp_path: Path
) -> None:
    petabyte = 10**15

    def huge(manifest: dict) -> None:
        manifest["files"][0]["size"] = petabyte

    resign(served / "stage3" / V3 / "full.release.json", world.key, huge)
    host = host_for(served)
    db = tmp_path / "db"
    done = run_update(db, host, world)
    assert done.returncode == 1
    assert "not enough disk space" in done.stderr and "nothing was downloaded" in done.stderr
    assert not any(".tar.gz." in r["path"] for r in host.requests())
    assert not (db / "current").exists()
    assert_clean(db)


def test_a_damaged_delta_falls_back_to_the_full_release(
    world: World, served: Path, host_for: Callable[..., Host], at_v1: Path
) -> None:
    """A delta whose result differs from the published files is dropped for the full release."""

    def wrong_result(manifest: dict) -> None:
        manifest["files"][0]["sha256"] = "0" * 64

    resign(served / "stage3" / V2 / "delta.release.json", world.key, wrong_result)
    done = run_update(at_v1, host_for(served), world)
    assert done.returncode == 0, done.stderr
    assert installed(at_v1) == V3
    full = served / "stage3" / V3 / "full.release.json"
    expected = {f["name"]: f["sha256"] for f in json.loads(full.read_text())["manifest"]["files"]}
    assert {n: sha256_file(at_v1 / "current" / n) for n in expected} == expected


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("schema_version", 99, "needs database schema 99 (this program reads 1)"),
        ("min_program_version", "999.0", "needs stash-sense 999.0 or newer"),
    ],
)
def test_the_signed_manifest_decides_what_this_program_can_read(
    world: World,
    served: Path,
    host_for: Callable[..., Host],
    at_v1: Path,
    field: str,
    value: object,
    says: str,
) -> None:
    # the index (unsigned) says the release is readable; its signed manifests say otherwise
    for kind in ("full", "delta"):
        resign(
            served / "stage3" / V3 / f"{kind}.release.json",
            world.key,
            lambda m: m.update({field: value}),
        )
    host = host_for(served)
    done = run_update(at_v1, host, world)
    assert done.returncode == 1, done.stdout
    assert f"release {V3} {says}" in done.stderr
    assert installed(at_v1) == V1
    assert_clean(at_v1)
    assert not any(".tar.gz." in r["path"] for r in host.requests())
