"""What the sidecar runs with: its settings group (stash_sense.settings.SidecarSettings, where
the defaults live) plus the database and release it serves, with the key files read."""

from __future__ import annotations

from pathlib import Path
from typing import Self
from urllib.parse import urlsplit

from pydantic import SecretStr, ValidationError, model_validator

from stash_sense.errors import ConfigError
from stash_sense.settings import MAX_FRAMES, Settings, SidecarSettings

__all__ = ["MAX_FRAMES", "MAX_JSON_BYTES", "ConfigError", "SidecarConfig", "origin_of"]

#: Largest JSON body of the routes that take no image (scene, performer, feedback, reload).
MAX_JSON_BYTES = 64 * 1024
#: Names every local client may use for the sidecar (checked against the Host header).
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
MIB = 1024 * 1024


def origin_of(url: str) -> str:
    """scheme://host[:port] of an http(s) URL, or raise ConfigError."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"not an http(s) URL: {url!r}")
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"  # without any user:password@


def read_key(file: Path, name: str) -> SecretStr:
    """The first line of a key file; ConfigError naming the file (never its content)."""
    try:
        text = file.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"cannot read {name} {file}: {err}") from None
    if not text:
        raise ConfigError(f"{name} {file} is empty")
    return SecretStr(text.splitlines()[0].strip())


class SidecarConfig(SidecarSettings):
    """Everything `create_app` needs: the sidecar's group, the database, the release source;
    the Stash URL's origin is among `cors_origins`. Secrets are `SecretStr`."""

    db: Path
    release_index: str | None = None
    release_keys: Path | None = None

    @classmethod
    def of(cls, settings: Settings) -> SidecarConfig:
        """The sidecar's configuration from the settings, key files read (a key file wins over
        the key); ConfigError for no database, an unreadable key file or a bad URL."""
        if settings.db is None:
            raise ConfigError("no database: give --db or set STASH_SENSE_DB")
        group = settings.sidecar
        keys = {
            name: read_key(file, name.replace("_", "-") + "-file")
            for name, file in (
                ("api_key", group.api_key_file),
                ("stash_api_key", group.stash_api_key_file),
            )
            if file is not None
        }
        values = {**dict(group), **keys}
        try:
            return cls(
                **values,
                db=settings.db,
                release_index=settings.release.index,
                release_keys=settings.release.keys,
            )
        except ValidationError as err:
            raise ConfigError(str(err.errors()[0]["msg"]).removeprefix("Value error, ")) from None

    @model_validator(mode="after")
    def _urls(self) -> Self:
        if self.stash_url:
            url = self.stash_url.rstrip("/")
            object.__setattr__(self, "stash_url", url)  # frozen: set once, while validating
            origin = _origin(url)
            if origin not in self.cors_origins:
                object.__setattr__(self, "cors_origins", [*self.cors_origins, origin])
        for other in self.cors_origins:
            _origin(other)
        if self.release_index:
            _origin(self.release_index)
        return self

    @property
    def bind_host(self) -> str:
        return self.host

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * MIB

    @property
    def feedback_max_bytes(self) -> int:
        return int(self.feedback_max_mb * MIB)

    @property
    def header_timeout_s(self) -> float:
        return self.header_timeout

    @property
    def body_timeout_s(self) -> float:
        return self.body_timeout

    @property
    def default_frames(self) -> int:
        return self.frames

    @property
    def max_json_bytes(self) -> int:
        return MAX_JSON_BYTES

    @property
    def api_key_value(self) -> str | None:
        """The key X-API-Key must carry, as text (for the guard)."""
        return self.api_key.get_secret_value() if self.api_key else None

    @property
    def stash_api_key_value(self) -> str | None:
        """Stash's API key as text (for the Stash client)."""
        return self.stash_api_key.get_secret_value() if self.stash_api_key else None

    @property
    def host_names(self) -> frozenset[str] | None:
        """Host header names accepted (lower case, no port), or None for any (`*`)."""
        if "*" in self.allowed_hosts:
            return None
        names = {*LOOPBACK_NAMES, *self.allowed_hosts}
        if self.bind_host not in ("0.0.0.0", "::", ""):
            names.add(self.bind_host)
        return frozenset(n.strip("[]").lower() for n in names)

    @property
    def secrets(self) -> list[str]:
        """The values no answer or log line may show."""
        return [k for k in (self.api_key_value, self.stash_api_key_value) if k]

    @property
    def feedback_path(self) -> Path:
        return self.feedback_db or self.data_dir / "feedback.sqlite"


def _origin(url: str) -> str:
    """origin_of for a validator: a ValueError pydantic reports."""
    try:
        return origin_of(url)
    except ConfigError as err:
        raise ValueError(str(err)) from None
