"""Stash Sense's settings: one object read from STASH_SENSE_* environment variables.

The command line builds it once per command, with the options the user gave on top
(`load_settings(port=8000)`), and passes its values on as parameters: no library module reads the
environment. A value left unset (None) means "the library's own default" (e.g. `faces.imageio`'s
size limit, `models.registry`'s cache folder, `sidecar.config`'s worker count). Secrets are
`SecretStr`, so they never show in a repr, a log line or an error.

| variable | what |
| --- | --- |
| STASH_SENSE_DB | the face database folder (`serve`) |
| STASH_SENSE_HOST, STASH_SENSE_PORT | where the sidecar listens |
| STASH_SENSE_STASH_URL, STASH_SENSE_STASH_API_KEY | the user's Stash |
| STASH_SENSE_API_KEY | the key the sidecar requires (X-API-Key) |
| STASH_SENSE_API_KEY_FILE, STASH_SENSE_STASH_API_KEY_FILE | files holding those keys |
| STASH_SENSE_ALLOWED_HOSTS | other names (comma-separated) the sidecar is reached by |
| STASH_SENSE_HEADER_TIMEOUT, STASH_SENSE_BODY_TIMEOUT | seconds a client has for headers, body |
| STASH_SENSE_FEEDBACK_MAX_MB | the largest feedback file |
| STASH_SENSE_DATA_DIR, STASH_SENSE_FEEDBACK_DB | the sidecar's files |
| STASH_SENSE_MAX_UPLOAD_MB, STASH_SENSE_WORKERS, STASH_SENSE_QUEUE | the sidecar's limits |
| STASH_SENSE_MAX_IMAGE_BYTES | the largest image file read |
| STASH_SENSE_MODELS | the folder of fetched (optional) models |
| STASH_SENSE_CONFIG | the endpoints TOML file (default `$XDG_CONFIG_HOME/stash-sense/...`) |
| STASH_SENSE_<ENDPOINT>_API_KEY, ..._URL, ... | per-endpoint overrides (`endpoint_environ()`) |
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from stash_sense.errors import ConfigError

PREFIX = "STASH_SENSE_"


class Settings(BaseSettings):
    """Every setting of the command line and the sidecar (None: the library's default)."""

    model_config = SettingsConfigDict(env_prefix=PREFIX, extra="ignore", frozen=True)

    db: Path | None = None
    host: str | None = None
    port: int | None = None
    stash_url: str | None = None
    stash_api_key: SecretStr | None = None
    api_key: SecretStr | None = None
    api_key_file: Path | None = None
    stash_api_key_file: Path | None = None
    allowed_hosts: str | None = None
    header_timeout: float | None = None
    body_timeout: float | None = None
    feedback_max_mb: float | None = None
    data_dir: Path | None = None
    feedback_db: Path | None = None
    max_upload_mb: int | None = None
    workers: int | None = None
    queue: int | None = None
    max_image_bytes: int | None = None
    models: Path | None = None
    config: Path | None = None

    def endpoints_file(self) -> tuple[Path, bool]:
        """(the endpoints TOML, whether it must exist): STASH_SENSE_CONFIG (or --config) must;
        the default, `$XDG_CONFIG_HOME/stash-sense/endpoints.toml`, need not."""
        if self.config is not None:
            return self.config, True
        base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
        return base / "stash-sense" / "endpoints.toml", False

    @staticmethod
    def endpoint_environ() -> dict[str, str]:
        """The STASH_SENSE_* variables, for the per-endpoint overrides of `sources.endpoints`
        (their names depend on the endpoints configured, so they are no fields)."""
        return {k: v for k, v in os.environ.items() if k.startswith(PREFIX)}


def load_settings(**given: Any) -> Settings:
    """The settings: `given` values (command-line options; None ones are dropped) over the
    environment over the defaults. Raises ConfigError for a malformed value."""
    try:
        return Settings(**{k: v for k, v in given.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = PREFIX + ".".join(str(p) for p in first["loc"]).upper()
        raise ConfigError(f"{where}: {first['msg']}") from None
