"""Bad databases and bad places give one clear line on stderr and exit 1, never a traceback."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from clikit import error_lines, run_cli

Damage = Callable[[dict[str, object]], None]


def _copy_with_manifest(src: Path, dest: Path, edit: Damage | None, raw: str | None = None) -> Path:
    shutil.copytree(src / "current", dest)
    path = dest / "manifest.json"
    if raw is not None:
        path.write_text(raw)
    elif edit is not None:
        data = json.loads(path.read_text())
        edit(data)
        path.write_text(json.dumps(data))
    return dest


def _other_model(m: dict[str, object]) -> None:
    models = m["models"]
    assert isinstance(models, dict)
    models["sface"]["version"] = "2019"


@pytest.mark.parametrize(
    ("edit", "raw", "message"),
    [
        (lambda m: m.update(schema_version=7), None, "schema version 7"),
        (_other_model, None, "was made with sface 2019"),
        (None, "{truncated", "corrupt manifest"),
    ],
)
def test_unusable_database_is_refused(
    enrolled: tuple[Path, Path],
    lfw: Path,
    tmp_path: Path,
    edit: Damage | None,
    raw: str | None,
    message: str,
) -> None:
    db = _copy_with_manifest(enrolled[0], tmp_path / "gen", edit, raw)
    image = lfw / "lfw-dev" / "Celine_Dion" / "1.jpg"
    proc = run_cli("identify", "--db", db, image)
    assert proc.returncode == 1
    lines = error_lines(proc.stderr)
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines


def test_missing_database(tmp_path: Path, lfw: Path) -> None:
    proc = run_cli("identify", "--db", tmp_path / "nope", lfw / "lfw-dev" / "Celine_Dion" / "1.jpg")
    assert proc.returncode == 1
    assert error_lines(proc.stderr) == [f"error: no face database at {tmp_path / 'nope'}"]
    proc = run_cli("db", "info", "--db", tmp_path)
    assert proc.returncode == 1 and "holds no published database" in proc.stderr


def test_enroll_into_an_unwritable_place(enrolled: tuple[Path, Path]) -> None:
    proc = run_cli("db", "enroll", "--db", "/proc/stash-sense-db", enrolled[1])
    assert proc.returncode == 1
    lines = error_lines(proc.stderr)
    assert len(lines) == 1 and lines[0].startswith("error: cannot write to /proc/stash-sense-db")


def test_enroll_of_a_folder_without_performers(tmp_path: Path) -> None:
    proc = run_cli("db", "enroll", "--db", tmp_path / "db", tmp_path)
    assert proc.returncode == 1 and "holds no performer folders" in proc.stderr
