"""`db keygen`, `db package` and `db check` from the command line: what they write and refuse."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
from relsynth import EMBEDDERS, World, add_performer, cli

from stash_sense.database import DatabaseWriter


def test_keygen_writes_a_private_key_only_once(tmp_path: Path) -> None:
    key = tmp_path / "release.key"
    done = cli("db", "keygen", "--out", str(key))
    assert done.returncode == 0, done.stderr
    entry = json.loads(done.stdout)
    assert set(entry) == {"key_id", "public_key"} and len(entry["key_id"]) == 16
    assert "private_key" not in done.stdout and "keep it secret" in done.stderr
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    again = cli("db", "keygen", "--out", str(key))
    assert again.returncode == 1 and "never overwritten" in again.stderr


def test_package_splits_parts_and_refuses_an_old_version(world: World, tmp_path: Path) -> None:
    src = tmp_path / "src"
    with DatabaseWriter.open(src, EMBEDDERS) as w:
        add_performer(w, np.random.default_rng(0), 1)
        w.publish()
    out = tmp_path / "out"
    args = ["db", "package", "--db", str(src), "--out", str(out), "--key", str(world.key)]
    done = cli(*args, "--version", "3.0", "--part-size", "1k")
    assert done.returncode == 0, done.stderr
    envelope = json.loads((out / "3.0" / "full.release.json").read_text())
    parts = envelope["manifest"]["parts"]
    assert len(parts) > 1 and all(p["size"] <= 1024 for p in parts)
    assert {p.name for p in (out / "3.0").iterdir()} == {"full.release.json"} | {
        p["name"] for p in parts
    }
    names = [f["name"] for f in envelope["manifest"]["files"]]
    assert names == ["faces.sqlite", "index-alpha.voy", "index-beta.voy", "manifest.json"]
    manifest = envelope["manifest"]
    assert manifest["counts"]["performers"] == 1 and manifest["sources"]["stashdb"]["faces"] == 2
    assert manifest["calibration"] and manifest["models"]["alpha"]["dim"] == 32
    older = cli(*args, "--version", "2.9")
    assert older.returncode == 1 and "is not newer than 3.0" in older.stderr
    missing = cli("db", "package", "--db", str(tmp_path / "nothing"), "--out", str(out),
                  "--key", str(world.key))  # fmt: skip
    assert missing.returncode == 1 and "no face database" in missing.stderr


def test_check_says_exactly_what_is_missing(world: World, tmp_path: Path) -> None:
    db = tmp_path / "db"
    with DatabaseWriter.open(db, EMBEDDERS) as w:
        add_performer(w, np.random.default_rng(0), 1)
        gen = w.publish()
    assert cli("db", "check", "--db", str(db)).returncode == 0
    (gen / "index-beta.voy").unlink()
    with (gen / "faces.sqlite").open("r+b") as f:
        f.seek(200)
        f.write(b"\x00garbage")
    done = cli("db", "check", "--db", str(db))
    assert done.returncode == 1
    assert f"database file {gen / 'index-beta.voy'} is missing" in done.stderr
    assert f"database file {gen / 'faces.sqlite'} is damaged" in done.stderr
    nothing = cli("db", "check", "--db", str(tmp_path / "none"))
    assert nothing.returncode == 1 and "no face database at" in nothing.stderr
