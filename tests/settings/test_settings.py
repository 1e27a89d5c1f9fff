"""The one settings model: STASH_SENSE_* variables, options on top, real defaults, groups the
sidecar takes as they are, secrets hidden, clear errors, docs generated from it; and no library
module reads the environment itself."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer

import stash_sense
from stash_sense.cli.app import app
from stash_sense.errors import ConfigError
from stash_sense.settings import Settings, entries, env_only, load_settings, variable
from stash_sense.sidecar import SidecarConfig
from stash_sense_devkit.configdoc import options, render

SECRET = "sk-settings-secret-42"
ROOT = Path(__file__).resolve().parents[2]


def test_environment_options_and_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("STASH_SENSE_WORKERS", "3")
    monkeypatch.setenv("STASH_SENSE_QUEUE", "5")
    monkeypatch.setenv("STASH_SENSE_MODELS", str(tmp_path))
    monkeypatch.setenv("STASH_SENSE_MAX_IMAGE_BYTES", "1000000")
    monkeypatch.setenv("STASH_SENSE_RELEASE_INDEX", "https://example.org/index.json")
    s = load_settings(queue=9, port=None)  # an option given wins; None means "not given"
    assert (s.sidecar.workers, s.sidecar.queue, s.models, s.max_image_bytes) == (
        3,
        9,
        tmp_path,
        1000000,
    )
    assert s.release.index == "https://example.org/index.json"
    assert s.sidecar.port == 5000 and s.sidecar.host == "127.0.0.1"  # the real defaults
    assert s.sidecar.stash_url is None and s.release.keys is None


def test_lists_come_comma_separated_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STASH_SENSE_CORS_ORIGINS", "http://localhost:9999, http://nas:9999")
    monkeypatch.setenv("STASH_SENSE_ALLOWED_HOSTS", "stash-sense")
    s = load_settings()
    assert s.sidecar.cors_origins == ["http://localhost:9999", "http://nas:9999"]
    assert s.sidecar.allowed_hosts == ["stash-sense"]
    assert load_settings(cors_origins=["http://other:1"]).sidecar.cors_origins == ["http://other:1"]


def test_the_sidecar_takes_its_group(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("STASH_SENSE_DB", str(tmp_path))
    monkeypatch.setenv("STASH_SENSE_STASH_URL", "http://stash:9999/")
    monkeypatch.setenv("STASH_SENSE_CORS_ORIGINS", "http://localhost:9999")
    monkeypatch.setenv("STASH_SENSE_MAX_UPLOAD_MB", "4")
    key = tmp_path / "key"
    key.write_text(SECRET + "\nignored\n")
    config = SidecarConfig.of(load_settings(api_key_file=key))
    assert config.db == tmp_path and config.stash_url == "http://stash:9999"
    assert config.cors_origins == ["http://localhost:9999", "http://stash:9999"]
    assert (config.max_upload_bytes, config.workers, config.default_frames) == (4 << 20, 1, 40)
    assert config.secrets == [SECRET] and SECRET not in repr(config)
    with pytest.raises(ConfigError, match=r"api-key-file .* is empty"):
        (tmp_path / "empty").write_text("\n")
        SidecarConfig.of(load_settings(api_key_file=tmp_path / "empty"))
    with pytest.raises(ConfigError, match="not an http"):
        SidecarConfig.of(load_settings(cors_origins=["localhost:9999"]))
    monkeypatch.delenv("STASH_SENSE_DB")
    with pytest.raises(ConfigError, match="STASH_SENSE_DB"):
        SidecarConfig.of(load_settings())


def test_secrets_stay_out_of_reprs_and_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STASH_SENSE_API_KEY", SECRET)
    monkeypatch.setenv("STASH_SENSE_STASH_API_KEY", SECRET)
    s = load_settings()
    assert s.sidecar.api_key is not None and s.sidecar.api_key.get_secret_value() == SECRET
    assert SECRET not in repr(s) and SECRET not in str(s)
    monkeypatch.setenv("STASH_SENSE_WORKERS", "many")
    with pytest.raises(ConfigError, match="STASH_SENSE_WORKERS or --workers") as err:
        load_settings()
    assert SECRET not in str(err.value)
    monkeypatch.setenv("STASH_SENSE_WORKERS", "0")
    with pytest.raises(ConfigError, match="greater than or equal to 1"):
        load_settings()


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


def test_defaults_are_the_libraries_own() -> None:
    """The settings' defaults for library limits are the values the libraries use unset."""
    from stash_sense.faces.imageio import MAX_BYTES
    from stash_sense.models.registry import models_dir

    s = Settings()
    assert s.max_image_bytes == MAX_BYTES and s.models == models_dir()


def test_every_serve_option_is_a_setting_and_every_setting_has_an_option_or_is_env_only() -> None:
    """No hand mapping: serve's options are the sidecar's settings by name, and the other way
    round; a setting marked env-only has no option anywhere, the others have one."""
    by_option = options()
    command = typer.main.get_command(app)
    serve = command.commands["serve"]  # type: ignore[attr-defined]
    serve_names = {p.name for p in serve.params if p.param_type_name == "option"} - {"help"}
    sidecar_names = {n for n, g, _ in entries() if g in ("sidecar", "release")} | {"db"}
    assert serve_names == sidecar_names
    for name, _, field in entries():
        assert bool(by_option.get(name)) != env_only(field), name


def test_the_configuration_docs_are_generated_from_the_model() -> None:
    """docs/configuration.md is what stash_sense_devkit.configdoc prints; regenerate it with
    `python -m stash_sense_devkit.configdoc > docs/configuration.md`."""
    committed = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert committed == render()
    for name, _, _ in entries():
        assert f"`{variable(name)}`" in committed


def test_only_the_settings_module_reads_the_environment() -> None:
    """No other module reads a variable by name (handing a copy of the environment to a child
    process, as scenes/relay.py does for ffmpeg, reads no setting)."""
    package = Path(stash_sense.__file__).parent
    reads = re.compile(r"os\.environ(\.get\(|\[)|getenv\(|envvar=")
    readers = sorted(
        str(p.relative_to(package))
        for p in package.rglob("*.py")
        if reads.search(p.read_text(encoding="utf-8"))
    )
    assert readers == ["settings.py"]


@pytest.mark.parametrize("value", ["auto", "AUTO", " Auto ", ""])
def test_scan_memory_mb_takes_auto_for_the_default(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("STASH_SENSE_SCAN_MEMORY_MB", value)
    assert load_settings().sidecar.scan_memory_mb is None  # computed by the scan itself
    monkeypatch.setenv("STASH_SENSE_SCAN_MEMORY_MB", "2048")
    assert load_settings().sidecar.scan_memory_mb == 2048.0
    assert load_settings(scan_memory_mb=value).sidecar.scan_memory_mb is None  # option wins


def test_scan_memory_mb_refuses_words_other_than_auto(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STASH_SENSE_SCAN_MEMORY_MB", "lots")
    with pytest.raises(ConfigError, match=r'STASH_SENSE_SCAN_MEMORY_MB.*"auto"'):
        load_settings()
