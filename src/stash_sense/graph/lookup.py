"""Finding identities by stash id: which identity of a built graph holds a given (endpoint,
stash id), as a record's own id or one its source states (a second endpoint's id, a merge)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from stash_sense.graph.query import open_existing
from stash_sense.graph.store import graph_errors


def endpoint_key(endpoint: str) -> str:
    """An endpoint URL as compared: no surrounding spaces, no trailing slash, case folded (Stash
    and the face database may spell one endpoint `https://StashDB.org/graphql/`)."""
    return endpoint.strip().rstrip("/").casefold()


def _stated(conn: sqlite3.Connection, stash_id: str) -> list[tuple[str, str]]:
    """(identity, endpoint) of records that state `stash_id` among their other ids."""
    out = []
    for identity, raw in conn.execute(
        "SELECT identity, stash_ids FROM records WHERE instr(stash_ids, ?) > 0 ORDER BY key",
        (json.dumps(stash_id),),
    ):
        for endpoint, sid in json.loads(raw):
            if str(sid) == stash_id:
                out.append((str(identity), str(endpoint)))
    return out


@graph_errors
def identities_for(graph_file: Path, pairs: list[tuple[str, str]]) -> list[str | None]:
    """For each (endpoint, stash id), the id of the identity that holds it, or None; endpoints
    compare as `endpoint_key` does."""
    conn = open_existing(graph_file)
    try:
        found: list[str | None] = []
        for endpoint, stash_id in pairs:
            want = endpoint_key(endpoint)
            rows = [
                (str(i), str(e))
                for i, e in conn.execute(
                    "SELECT identity, endpoint FROM records WHERE source_id = ? ORDER BY key",
                    (stash_id,),
                )
            ]
            rows += _stated(conn, stash_id)
            found.append(next((i for i, e in rows if endpoint_key(e) == want), None))
        return found
    finally:
        conn.close()


@graph_errors
def known_endpoints(graph_file: Path) -> list[str]:
    """Every endpoint the graph has a stash id of (records' own and stated ones), sorted."""
    conn = open_existing(graph_file)
    try:
        own = "SELECT DISTINCT endpoint FROM records WHERE source_id NOT LIKE 'db:%'"
        seen = {str(e) for (e,) in conn.execute(own)}
        for (raw,) in conn.execute("SELECT stash_ids FROM records WHERE stash_ids != '[]'"):
            seen |= {str(e) for e, _ in json.loads(raw)}
        return sorted(seen)
    finally:
        conn.close()
