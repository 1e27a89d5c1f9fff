"""Endpoints as configuration: presets for the public sources, a TOML file, environment variables.

A config file (the CLI passes `$STASH_SENSE_CONFIG` or `~/.config/stash-sense/endpoints.toml`, see
stash_sense.settings) holds one table per endpoint:

    [endpoints.stashdb]
    api_key = "..."            # better: STASH_SENSE_STASHDB_API_KEY
    rate_limit = 2.0           # requests a second to each host
    concurrency = 4

    [endpoints.mybox]
    url = "http://localhost:9998/graphql"
    kind = "stash-box"

Environment variables override the file: `STASH_SENSE_<NAME>_API_KEY`, `..._URL`, `..._RATE_LIMIT`
(NAME upper-cased, `-` as `_`); the caller passes them as `environ` (this module never reads the
environment). API keys are `SecretStr`: never printed, logged or put in a repr.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from stash_sense.errors import ConfigError

Kind = Literal["stash-box", "tpdb"]

# StashDB and the other stash-boxes are run by volunteers on one server each; 2 requests a second
# (one GraphQL page of 100 performers is one request; every image is one) takes a full StashDB
# build of ~100k performers about 14 hours, and keeps the builder a small fraction of the load
# one active Stash user with a batch tagger makes. See docs/builder.md.
DEFAULT_RATE_LIMIT = 2.0


class EndpointConfig(BaseModel):
    """One source the builder can read."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    url: str
    kind: Kind = "stash-box"
    api_key: SecretStr | None = None
    rate_limit: float = Field(
        default=DEFAULT_RATE_LIMIT, gt=0, description="requests a second per host"
    )
    burst: float = Field(default=1.0, ge=1)
    concurrency: int = Field(default=4, ge=1, le=64, description="parallel image downloads")
    page_size: int = Field(default=100, ge=1, le=1000)
    max_images_per_performer: int = Field(default=5, ge=1)
    max_image_bytes: int = Field(default=15 * 1024 * 1024, ge=1024)
    timeout_s: float = Field(default=30.0, gt=0)
    retries: int = Field(default=5, ge=1)
    # the endpoint string stored in stash_ids (what Stash records), default: url for stash-boxes
    stash_endpoint: str | None = None

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/]+", value):
            raise ValueError(f"not an http(s) URL: {value!r}")
        return value.rstrip("/")

    @property
    def stash_id_endpoint(self) -> str:
        return self.stash_endpoint or self.url

    def key_value(self) -> str | None:
        return self.api_key.get_secret_value() if self.api_key else None

    def describe(self) -> str:
        """One line for logs: everything but the key."""
        key = "set" if self.api_key else "not set"
        return (
            f"{self.name} ({self.kind}) {self.url}, {self.rate_limit:g} req/s, "
            f"concurrency {self.concurrency}, API key {key}"
        )


PRESETS: dict[str, dict[str, Any]] = {
    "stashdb": {"url": "https://stashdb.org/graphql", "kind": "stash-box"},
    "fansdb": {"url": "https://fansdb.cc/graphql", "kind": "stash-box"},
    "pmvstash": {"url": "https://pmvstash.org/graphql", "kind": "stash-box"},
    "javstash": {"url": "https://javstash.org/graphql", "kind": "stash-box"},
    # ThePornDB's REST API; its performers are linked in Stash through its stash-box endpoint
    "tpdb": {
        "url": "https://api.theporndb.net",
        "kind": "tpdb",
        "stash_endpoint": "https://theporndb.net/graphql",
    },
}


def _env_prefix(name: str) -> str:
    return "STASH_SENSE_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper() + "_"


def key_variable(name: str) -> str:
    """The environment variable that holds endpoint `name`'s API key."""
    return _env_prefix(name) + "API_KEY"


def require_key(endpoint: EndpointConfig) -> None:
    """ConfigError naming the variable to set when a public source (a preset) has no API key:
    every one of them refuses requests without one, so nothing is asked of it."""
    if endpoint.name in PRESETS and endpoint.api_key is None:
        raise ConfigError(
            f"endpoint {endpoint.name!r} needs an API key: set {key_variable(endpoint.name)} "
            f"(or api_key in [endpoints.{endpoint.name}] of the config file)"
        )


def _from_env(name: str, environ: Mapping[str, str]) -> dict[str, Any]:
    prefix = _env_prefix(name)
    found: dict[str, Any] = {}
    for field in ("api_key", "url", "rate_limit", "concurrency", "kind"):
        value = environ.get(prefix + field.upper())
        if value:
            found[field] = value
    return found


def load_endpoints(
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    must_exist: bool = True,
) -> dict[str, EndpointConfig]:
    """Presets, then the config file's tables, then the `environ` overrides, by endpoint name.

    A missing `config_file` is an error unless `must_exist` is False (the default location).
    """
    environ = environ or {}
    tables: dict[str, dict[str, Any]] = {name: dict(v) for name, v in PRESETS.items()}
    path = config_file
    if path is not None and must_exist and not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    if path is not None and path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc})") from None
        tables_in_file = data.get("endpoints") or {}
        if not isinstance(tables_in_file, dict):
            raise ConfigError(f"{path}: endpoints must be a table ([endpoints.NAME] sections)")
        for name, table in tables_in_file.items():
            if not isinstance(table, dict):
                raise ConfigError(f"{path}: [endpoints.{name}] must be a table")
            tables.setdefault(name, {}).update(table)
    endpoints: dict[str, EndpointConfig] = {}
    for name, table in tables.items():
        merged = {**table, **_from_env(name, environ), "name": name}
        if "url" not in merged:
            raise ConfigError(f"endpoint {name!r} has no url (set url in the config file)")
        try:
            endpoints[name] = EndpointConfig(**merged)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ConfigError(f"endpoint {name!r}: {where}: {first['msg']}") from None
    return endpoints


def get_endpoint(
    name: str,
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    must_exist: bool = True,
) -> EndpointConfig:
    """One endpoint by name (see load_endpoints); ConfigError when unknown."""
    endpoints = load_endpoints(config_file, environ, must_exist=must_exist)
    if name not in endpoints:
        known = ", ".join(sorted(endpoints))
        raise ConfigError(f"unknown endpoint {name!r} (known: {known})")
    return endpoints[name]
