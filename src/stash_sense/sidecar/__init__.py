"""The sidecar: the HTTP service (FastAPI) the Stash plugin calls; see docs/sidecar.md."""

from stash_sense.sidecar.app import create_app
from stash_sense.sidecar.config import ConfigError, SidecarConfig

__all__ = ["ConfigError", "SidecarConfig", "create_app"]
