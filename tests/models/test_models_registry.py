"""The registry: wheel models are found and verified; wrong or missing files are refused clearly."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stash_sense.cli.app import app
from stash_sense.models import (
    REGISTRY,
    ModelError,
    get_spec,
    model_location,
    resolve_model_path,
    verify_file,
)
from stash_sense.models.registry import sha256_file


@pytest.mark.parametrize("name", [n for n, s in REGISTRY.items() if s.bundled])
def test_wheel_models_are_present_and_verified(name: str) -> None:
    path = resolve_model_path(name)
    spec = get_spec(name)
    assert path.is_file()
    assert path.stat().st_size == spec.size
    assert sha256_file(path) == spec.sha256


def test_every_spec_is_complete() -> None:
    for spec in REGISTRY.values():
        assert len(spec.sha256) == 64 and int(spec.sha256, 16) >= 0
        assert spec.size > 0
        assert spec.bundled != (spec.url is not None), spec.name
        if spec.kind == "embedder":
            assert spec.dim
        if spec.archive_member:
            assert spec.archive_sha256 and spec.archive_size


def test_unknown_model() -> None:
    with pytest.raises(ModelError, match="unknown model"):
        get_spec("nope")


def test_mismatching_file_is_refused(tmp_path: Path) -> None:
    spec = get_spec("sface")
    fake = tmp_path / spec.filename
    fake.write_bytes(b"\0" * spec.size)
    with pytest.raises(ModelError, match="sha256 mismatch"):
        verify_file(spec, fake)
    fake.write_bytes(b"short")
    with pytest.raises(ModelError, match="expected"):
        verify_file(spec, fake)


def test_cache_dir_is_a_parameter(tmp_path: Path) -> None:
    assert model_location(get_spec("arcface"), tmp_path) == tmp_path / "w600k_r50.onnx"
    with pytest.raises(ModelError, match="models fetch arcface"):
        resolve_model_path("arcface", folder=tmp_path)


def test_fetched_model_is_verified_at_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = b"not the real arcface"
    spec = replace(get_spec("arcface"), sha256=hashlib.sha256(data).hexdigest(), size=len(data))
    monkeypatch.setitem(REGISTRY, "arcface", spec)
    (tmp_path / spec.filename).write_bytes(data)
    assert resolve_model_path("arcface", folder=tmp_path) == tmp_path / spec.filename
    (tmp_path / spec.filename).write_bytes(b"tampered with, same len")
    with pytest.raises(ModelError):
        resolve_model_path("arcface", folder=tmp_path)


def test_missing_wheel_package(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = replace(get_spec("sface"), package="no_such_package_here")
    monkeypatch.setitem(REGISTRY, "sface", spec)
    with pytest.raises(ModelError, match="not installed"):
        resolve_model_path("sface")


def test_cli_models_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STASH_SENSE_MODELS", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "160")
    result = CliRunner().invoke(app, ["models", "list"])
    assert result.exit_code == 0, result.output
    for name in REGISTRY:
        assert name in result.output
    assert "verified" in result.output
    assert "not fetched" in result.output


def test_cli_models_list_reads_the_cache_folder_from_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = b"a fetched arcface"
    spec = replace(get_spec("arcface"), sha256=hashlib.sha256(data).hexdigest(), size=len(data))
    monkeypatch.setitem(REGISTRY, "arcface", spec)
    (tmp_path / spec.filename).write_bytes(data)
    monkeypatch.setenv("STASH_SENSE_MODELS", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "160")
    result = CliRunner().invoke(app, ["models", "list"])
    assert result.exit_code == 0, result.output
    arcface = next(line for line in result.output.splitlines() if "arcface" in line)
    assert "verified" in arcface


def test_cli_models_fetch_unknown() -> None:
    result = CliRunner().invoke(app, ["models", "fetch", "nope"])
    assert result.exit_code == 2
