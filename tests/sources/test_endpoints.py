"""Endpoint configuration: presets, a TOML file, environment variables; API keys never shown."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from stash_sense.sources.endpoints import (
    DEFAULT_RATE_LIMIT,
    PRESETS,
    ConfigError,
    get_endpoint,
    load_endpoints,
)

SECRET = "sk-very-secret-0123456789"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "endpoints.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_presets_exist_with_the_default_rate() -> None:
    endpoints = load_endpoints(None, environ={})
    for name in ("stashdb", "fansdb", "pmvstash", "javstash", "tpdb"):
        assert name in endpoints and name in PRESETS
        assert endpoints[name].rate_limit == DEFAULT_RATE_LIMIT
    assert endpoints["stashdb"].url == "https://stashdb.org/graphql"
    assert endpoints["tpdb"].kind == "tpdb"
    assert endpoints["tpdb"].stash_id_endpoint == "https://theporndb.net/graphql"
    assert endpoints["stashdb"].stash_id_endpoint == "https://stashdb.org/graphql"


def test_file_adds_and_overrides_then_env_overrides_the_file(tmp_path: Path) -> None:
    config = write(
        tmp_path,
        f"""
[endpoints.stashdb]
api_key = "{SECRET}"
rate_limit = 1.5

[endpoints.mybox]
url = "http://localhost:9998/graphql/"
concurrency = 8
""",
    )
    env = {"STASH_SENSE_MYBOX_RATE_LIMIT": "7", "STASH_SENSE_STASHDB_API_KEY": "from-env"}
    endpoints = load_endpoints(config, environ=env)
    assert endpoints["stashdb"].rate_limit == 1.5
    assert endpoints["stashdb"].key_value() == "from-env"
    mybox = endpoints["mybox"]
    assert mybox.url == "http://localhost:9998/graphql"
    assert (mybox.kind, mybox.concurrency, mybox.rate_limit) == ("stash-box", 8, 7.0)
    assert get_endpoint("mybox", config, environ={}).rate_limit == 2.0


def test_names_with_dashes_map_to_env_names(tmp_path: Path) -> None:
    config = write(tmp_path, '[endpoints.my-box]\nurl = "https://box.example/graphql"\n')
    env = {"STASH_SENSE_MY_BOX_API_KEY": SECRET}
    assert get_endpoint("my-box", config, environ=env).key_value() == SECRET


def test_api_keys_are_never_shown(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = write(tmp_path, f'[endpoints.stashdb]\napi_key = "{SECRET}"\n')
    ep = get_endpoint("stashdb", config, environ={})
    logging.getLogger("t").warning("endpoint %s %r %s", ep, ep, ep.describe())
    shown = " ".join([str(ep), repr(ep), ep.describe(), ep.model_dump_json(), caplog.text])
    assert SECRET not in shown
    assert "API key set" in ep.describe()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[endpoints.x\n", "not valid TOML"),
        ('[endpoints.x]\nkind = "stash-box"\n', "has no url"),
        ('[endpoints.x]\nurl = "ftp://x"\n', "not an http(s) URL"),
        ('[endpoints.x]\nurl = "http://x"\nrate_limit = 0\n', "rate_limit"),
        ('[endpoints.x]\nurl = "http://x"\nkind = "soap"\n', "kind"),
        ('[endpoints.x]\nurl = "http://x"\napikey = "typo"\n', "apikey"),
        ("endpoints = 3\n", "endpoints must be a table"),
    ],
)
def test_bad_config_is_one_clear_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_endpoints(write(tmp_path, text), environ={})
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_unknown_endpoint_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown endpoint 'nope'"):
        get_endpoint("nope", environ={})
    with pytest.raises(ConfigError, match="config file not found"):
        load_endpoints(tmp_path / "missing.toml", environ={})
    # the default location need not exist
    assert "stashdb" in load_endpoints(tmp_path / "missing.toml", environ={}, must_exist=False)


def test_build_command_reports_config_errors_cleanly(tmp_path: Path) -> None:
    config = write(tmp_path, f'[endpoints.mine]\nurl = "nonsense"\napi_key = "{SECRET}"\n')
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "stash_sense.cli.app",
            "build",
            "--db",
            str(tmp_path / "db"),
            "--endpoint",
            "mine",
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error: endpoint 'mine': url")
    assert SECRET not in proc.stdout + proc.stderr
