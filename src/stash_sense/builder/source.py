"""The source client for an endpoint, by its kind: every kind implements `SourceClient`."""

from __future__ import annotations

from collections.abc import Callable

from stash_sense.sources.endpoints import EndpointConfig
from stash_sense.sources.stashbox import StashBoxClient
from stash_sense.sources.tpdb import TpdbClient
from stash_sense.sources.types import SourceClient

CLIENTS: dict[str, Callable[[EndpointConfig], SourceClient]] = {
    "stash-box": StashBoxClient,
    "tpdb": TpdbClient,
}


def make_client(endpoint: EndpointConfig) -> SourceClient:
    return CLIENTS[endpoint.kind](endpoint)
