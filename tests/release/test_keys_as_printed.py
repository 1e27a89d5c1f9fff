"""The public entry `db keygen` prints, saved as it is, is a keys file `db update --keys` (and
STASH_SENSE_RELEASE_KEYS) accepts; with no trusted key the error names both ways to give one."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from relsynth import Host, World, cli


def test_the_printed_entry_is_a_keys_file(
    world: World, host_for: Callable[..., Host], tmp_path: Path
) -> None:
    host = host_for(world.served)
    printed = tmp_path / "entry.json"
    printed.write_text(json.dumps(json.loads(world.keys_json.read_text())["keys"][0], indent=2))
    db = tmp_path / "db"
    done = cli(
        "db", "update", "--index", f"{host.url}/stage1/index.json", "--json",
        env={"STASH_SENSE_DB": str(db), "STASH_SENSE_RELEASE_KEYS": str(printed)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["installed"] == world.versions[0]


def test_no_trusted_key_says_how_to_give_one(
    world: World, host_for: Callable[..., Host], tmp_path: Path
) -> None:
    host = host_for(world.served)
    done = cli("db", "update", "--db", str(tmp_path / "db"), "--index",
               f"{host.url}/stage1/index.json")  # fmt: skip
    assert done.returncode == 1
    assert "--keys" in done.stderr and "STASH_SENSE_RELEASE_KEYS" in done.stderr
