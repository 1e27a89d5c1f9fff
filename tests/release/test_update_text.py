"""`db update`'s one line for people: it offers `db rollback` only when there is something to
roll back to."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from relsynth import Host, World, cli


def test_the_first_install_offers_no_rollback_and_the_next_names_its_target(
    world: World, host_for: Callable[..., Host], tmp_path: Path
) -> None:
    host = host_for(world.served)
    db = tmp_path / "db"

    def update(stage: int) -> str:
        index = f"{host.url}/stage{stage}/index.json"
        keys = str(world.keys_json)
        done = cli("db", "update", "--db", str(db), "--index", index, "--keys", keys)
        assert done.returncode == 0, done.stderr
        return done.stdout

    first = update(2)
    assert "installed release" in first and "as gen-000001" in first
    assert "rollback" not in first  # an empty folder has no previous generation
    second = update(3)
    assert f"`stash-sense db rollback --db {db}` returns to gen-000001" in second
    assert cli("db", "rollback", "--db", str(db)).returncode == 0
