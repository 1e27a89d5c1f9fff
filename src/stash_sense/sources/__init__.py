"""Talking to the outside: stash-box GraphQL and ThePornDB REST clients, endpoint configuration,
per-host rate limiting and retries. (`sources.stash`, the client of the user's Stash, lives beside.)
"""

from stash_sense.sources.endpoints import (
    PRESETS,
    ConfigError,
    EndpointConfig,
    get_endpoint,
    load_endpoints,
)
from stash_sense.sources.http import AuthError, FetchError, HttpSession, RetryPolicy, SourceError
from stash_sense.sources.ratelimit import HostRateLimiter, TokenBucket
from stash_sense.sources.stashbox import StashBoxClient
from stash_sense.sources.tpdb import TpdbClient
from stash_sense.sources.types import (
    LiveIds,
    PerformerPage,
    SourceClient,
    SourceImage,
    SourcePerformer,
)

__all__ = [
    "PRESETS",
    "AuthError",
    "ConfigError",
    "EndpointConfig",
    "FetchError",
    "HostRateLimiter",
    "HttpSession",
    "LiveIds",
    "PerformerPage",
    "RetryPolicy",
    "SourceClient",
    "SourceError",
    "SourceImage",
    "SourcePerformer",
    "StashBoxClient",
    "TokenBucket",
    "TpdbClient",
    "get_endpoint",
    "load_endpoints",
]
