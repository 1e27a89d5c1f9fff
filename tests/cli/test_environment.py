"""Every database command takes its folder from STASH_SENSE_DB when --db is not given (as the
container's `docker exec stash-sense stash-sense db update` and `docker run ... db check` do),
and says so in one line when neither is set; `db check` then exits 1, never 2 ("a model is
broken" to the container's entrypoint)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clikit import PEOPLE, error_lines, run_cli


@pytest.fixture
def from_env(enrolled: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    db, _ = enrolled
    monkeypatch.setenv("STASH_SENSE_DB", str(db))
    return db


def test_read_commands_take_the_database_from_the_environment(from_env: Path, lfw: Path) -> None:
    info = json.loads(run_cli("db", "info", "--json", check=True).stdout)
    assert info["path"] == str(from_env) and info["manifest"]["counts"]["performers"] == 8
    checked = run_cli("db", "check", check=True)
    assert f"models and database at {from_env} are complete" in checked.stdout
    image = lfw / "lfw-dev" / PEOPLE[0] / "1.jpg"
    found = json.loads(run_cli("identify", "--json", image, check=True).stdout)
    assert found["faces"][0]["matches"][0]["name"] == PEOPLE[0]


def test_release_commands_take_the_database_from_the_environment(
    from_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    back = run_cli("db", "rollback")  # one generation: nothing to go back to, said in one line
    assert back.returncode == 1 and "Missing option" not in back.stderr
    assert len(error_lines(back.stderr)) == 1 and "previous" in back.stderr
    monkeypatch.setenv("STASH_SENSE_RELEASE_INDEX", "http://127.0.0.1:9/index.json")
    update = run_cli("db", "update", "--check")  # nothing listens there
    assert update.returncode == 1 and "Missing option" not in update.stderr
    assert len(error_lines(update.stderr)) == 1


def test_no_database_anywhere_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("STASH_SENSE_DB", raising=False)
    for args, code in (
        (("db", "check"), 1),
        (("db", "info"), 2),
        (("db", "update", "--check", "--index", "http://127.0.0.1:9/i.json"), 2),
        (("db", "rollback"), 2),
        (("db", "enroll", str(tmp_path)), 2),
        (("identify", str(tmp_path)), 1),  # no images there: said before the database
    ):
        proc = run_cli(*args)
        assert proc.returncode == code, (args, proc.stderr)
        assert len(error_lines(proc.stderr)) == 1, (args, proc.stderr)
    proc = run_cli("db", "info")
    assert "give --db or set STASH_SENSE_DB" in proc.stderr


def test_the_cores_setting_caps_face_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """STASH_SENSE_CORES bounds every engine, build and scene the command makes afterwards; a
    value below 1 is one error line naming the variable."""
    from stash_sense.cli.common import settings
    from stash_sense.faces import cores

    monkeypatch.setattr(cores.os, "sched_getaffinity", lambda _pid: {0, 1, 2, 3})
    try:
        monkeypatch.setenv("STASH_SENSE_CORES", "1")
        settings()
        assert cores.worker_threads() == 1
        monkeypatch.delenv("STASH_SENSE_CORES")
        settings()
        assert cores.worker_threads() == 4
    finally:
        cores.allow_cores(None)
    monkeypatch.setenv("STASH_SENSE_CORES", "0")
    bad = run_cli("db", "info")
    assert bad.returncode == 2 and "STASH_SENSE_CORES" in bad.stderr
    assert len(error_lines(bad.stderr)) == 1


def test_identify_keeps_models_in_the_folder_stash_sense_models_names(
    from_env: Path, lfw: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """STASH_SENSE_MODELS was read by `models fetch` / `models list` only: every engine looked in
    ~/.cache, so dlib's converted network (and a fetched optional model) lived elsewhere than
    the folder the user named (a read-only home in a container converted it at every start)."""
    models, home = tmp_path / "models", tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("STASH_SENSE_MODELS", str(models))
    monkeypatch.setenv("HOME", str(home))
    # every photo of the enrolled people: SFace settles most alone, dlib's network the rest
    run_cli("identify", "--json", *(lfw / "lfw-dev" / name for name in PEOPLE), check=True)
    assert (models / "dlib_face_recognition_resnet_model_v1.onnx").is_file()
    assert not list(home.rglob("*.onnx"))
