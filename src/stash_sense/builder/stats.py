"""Per-source build statistics for the manifest's `sources`: counted from the database rows at
publish time (performers, faces, deleted, merged, skips by reason, images waiting for a retry),
so a build killed and resumed reports exactly what a clean build reports."""

from __future__ import annotations

from typing import Any

from stash_sense.database import DatabaseWriter
from stash_sense.sources.endpoints import EndpointConfig


def source_stats(writer: DatabaseWriter, endpoint: EndpointConfig) -> dict[str, Any]:
    stats = writer.crawl.source_stats(endpoint.name, endpoint.stash_id_endpoint)
    return {"endpoint": endpoint.stash_id_endpoint, "kind": endpoint.kind, **stats}
