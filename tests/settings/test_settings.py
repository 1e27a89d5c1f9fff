"""The one settings object: STASH_SENSE_* variables, options on top, secrets hidden, clear
errors; and no library module reads the environment itself."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import stash_sense
from stash_sense.errors import ConfigError
from stash_sense.settings import load_settings

SECRET = "sk-settings-secret-42"


def test_environment_options_and_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("STASH_SENSE_WORKERS", "3")
    monkeypatch.setenv("STASH_SENSE_QUEUE", "5")
    monkeypatch.setenv("STASH_SENSE_MODELS", str(tmp_path))
    monkeypatch.setenv("STASH_SENSE_MAX_IMAGE_BYTES", "1000")
    s = load_settings(queue=9, port=None)  # an option given wins; None means "not given"
    assert (s.workers, s.queue, s.models, s.max_image_bytes) == (3, 9, tmp_path, 1000)
    assert s.port is None and s.stash_url is None  # unset: the library's own default applies


def test_secrets_stay_out_of_reprs_and_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STASH_SENSE_API_KEY", SECRET)
    monkeypatch.setenv("STASH_SENSE_STASH_API_KEY", SECRET)
    s = load_settings()
    assert s.api_key is not None and s.api_key.get_secret_value() == SECRET
    assert SECRET not in repr(s) and SECRET not in str(s)
    monkeypatch.setenv("STASH_SENSE_WORKERS", "many")
    with pytest.raises(ConfigError, match="STASH_SENSE_WORKERS") as err:
        load_settings()
    assert SECRET not in str(err.value)


def test_endpoints_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("STASH_SENSE_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert load_settings().endpoints_file() == (tmp_path / "stash-sense" / "endpoints.toml", False)
    monkeypatch.setenv("STASH_SENSE_CONFIG", str(tmp_path / "mine.toml"))
    assert load_settings().endpoints_file() == (tmp_path / "mine.toml", True)
    given = load_settings(config=tmp_path / "given.toml")
    assert given.endpoints_file() == (tmp_path / "given.toml", True)
    monkeypatch.setenv("STASH_SENSE_MYBOX_API_KEY", SECRET)
    monkeypatch.setenv("OTHER_API_KEY", "not ours")
    environ = given.endpoint_environ()
    assert environ["STASH_SENSE_MYBOX_API_KEY"] == SECRET and "OTHER_API_KEY" not in environ


def test_only_the_settings_module_reads_the_environment() -> None:
    package = Path(stash_sense.__file__).parent
    reads = re.compile(r"os\.environ|os\.getenv|getenv\(|envvar=")
    readers = sorted(
        str(p.relative_to(package))
        for p in package.rglob("*.py")
        if reads.search(p.read_text(encoding="utf-8"))
    )
    assert readers == ["settings.py"]
