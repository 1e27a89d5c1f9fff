"""What the sidecar needs to run, and its defaults; `stash-sense serve` fills it from the settings
(stash_sense.settings: options over STASH_SENSE_* variables)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from stash_sense.errors import ConfigError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5000
DEFAULT_MAX_UPLOAD_MB = 32
DEFAULT_WORKERS = 1
DEFAULT_QUEUE = 8
DEFAULT_FRAMES = 40
MAX_FRAMES = 400
#: Seconds a client has to send its request line and headers, and to send each piece of a body.
DEFAULT_HEADER_TIMEOUT_S = 10.0
DEFAULT_BODY_TIMEOUT_S = 30.0
#: Largest JSON body of the routes that take no image (scene, performer, feedback, reload).
MAX_JSON_BYTES = 64 * 1024
DEFAULT_FEEDBACK_MAX_MB = 64
#: Names every local client may use for the sidecar (checked against the Host header).
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


def origin_of(url: str) -> str:
    """scheme://host[:port] of an http(s) URL, or raise ConfigError."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"not an http(s) URL: {url!r}")
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"  # without any user:password@


@dataclass
class SidecarConfig:
    """Everything `create_app` needs; secrets are kept out of `repr`."""

    db: Path
    stash_url: str | None = None
    stash_api_key: str | None = field(default=None, repr=False)
    api_key: str | None = field(default=None, repr=False)
    data_dir: Path = field(default_factory=lambda: Path.home() / ".stash-sense")
    feedback_db: Path | None = None
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_MB * 1024 * 1024
    workers: int = DEFAULT_WORKERS
    queue: int = DEFAULT_QUEUE
    default_frames: int = DEFAULT_FRAMES
    cors_origins: list[str] = field(default_factory=list)
    release_index: str | None = None
    release_keys: Path | None = None
    #: the address bound; with the loopback names and `allowed_hosts` the Host headers accepted
    bind_host: str = "127.0.0.1"
    allowed_hosts: list[str] = field(default_factory=list)
    header_timeout_s: float = DEFAULT_HEADER_TIMEOUT_S
    body_timeout_s: float = DEFAULT_BODY_TIMEOUT_S
    max_json_bytes: int = MAX_JSON_BYTES
    feedback_max_bytes: int = DEFAULT_FEEDBACK_MAX_MB * 1024 * 1024

    def __post_init__(self) -> None:
        if self.stash_url:
            self.stash_url = self.stash_url.rstrip("/")
            origin = origin_of(self.stash_url)
            if origin not in self.cors_origins:
                self.cors_origins.append(origin)
        if self.release_index:
            origin_of(self.release_index)
        if self.workers < 1:
            raise ConfigError("workers must be at least 1")
        if self.queue < 0:
            raise ConfigError("queue must be 0 or more")
        if self.max_upload_bytes < 1024:
            raise ConfigError("the upload limit must be at least 1 KiB")

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
        return [k for k in (self.api_key, self.stash_api_key) if k]

    @property
    def feedback_path(self) -> Path:
        return self.feedback_db or self.data_dir / "feedback.sqlite"
