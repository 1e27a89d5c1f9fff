"""Finding identities by stash id as Stash spells its endpoints: endpoint URLs compared without
case or a trailing slash (`https://StashDB.org/graphql/` is StashDB), then the graph's own
`identity_for_stash_id` under the graph's spelling of that endpoint."""

from __future__ import annotations

from pathlib import Path

from stash_sense.graph.query import Explained, RecordRow, identity_for_stash_id, open_existing
from stash_sense.graph.store import graph_errors


def endpoint_key(endpoint: str) -> str:
    """An endpoint URL as compared: no surrounding spaces, no trailing slash, case folded."""
    return endpoint.strip().rstrip("/").casefold()


@graph_errors
def known_endpoints(graph_file: Path) -> list[str]:
    """Every endpoint the graph has a stash id of (records' own and stated ones), sorted."""
    conn = open_existing(graph_file)
    try:
        return [str(e) for (e,) in conn.execute("SELECT DISTINCT endpoint FROM record_ids")]
    finally:
        conn.close()


def identities_for(graph_file: Path, pairs: list[tuple[str, str]]) -> list[Explained | None]:
    """For each (endpoint, stash id), the identity that holds it, or None (GraphError when the
    graph cannot be read)."""
    spelled = {endpoint_key(e): e for e in known_endpoints(graph_file)}
    return [
        identity_for_stash_id(graph_file, spelled[endpoint_key(ep)], sid)
        if endpoint_key(ep) in spelled
        else None
        for ep, sid in pairs
    ]


def ids_with_records(found: Explained) -> list[tuple[str, str, RecordRow]]:
    """Every (endpoint, stash id) of an identity, each once, with the record that carries it
    (its own id or one it states), the primary record's first."""
    out: dict[tuple[str, str], RecordRow] = {}
    for r in sorted(found.records, key=lambda r: (r.key != found.primary, r.key)):
        own = [] if r.source_id.startswith("db:") else [(r.endpoint, r.source_id)]
        for endpoint, stash_id in own + [(str(e), str(s)) for e, s in r.other_ids]:
            out.setdefault((endpoint, stash_id), r)
    return [(e, s, r) for (e, s), r in out.items()]
