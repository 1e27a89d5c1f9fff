"""The library health kind "graph": local performers missing stash ids that the identity graph
knows. A local performer whose stash id is a record of an identity in the face database's graph
(`stash-sense db graph build`) and who has no stash id on another endpoint of that identity gets
an item that adds the identity's ids there (Link in the review page, as a "link" item does)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stash_sense.graph import Explained, GraphError, graph_paths
from stash_sense.graph.lookup import endpoint_key, identities_for, ids_with_records
from stash_sense.library.health_refresh import LocalPerformer


def graph_file_of(opened: Path) -> Path:
    """The graph file of an opened database folder: its root's, the root being the folder above
    a generation (`gen-NNNNNN`, as the database opens through `current`), else the folder."""
    above = graph_paths(opened.parent)[0]
    return above if above.is_file() or opened.name.startswith("gen-") else graph_paths(opened)[0]


def graph_items(performers: list[LocalPerformer], graph_file: Path) -> list[dict[str, Any]]:
    """An item per local performer the graph can complete (none without a graph: nothing to
    suggest); ids another local performer already holds are left to the "merge" kind."""
    asked = [(p, sid) for p in performers for sid in p.stash_ids]
    if not asked or not graph_file.is_file():
        return []
    try:
        found = identities_for(graph_file, [sid for _, sid in asked])
    except GraphError:
        return []
    first: dict[str, Explained] = {}
    for (p, _), ident in zip(asked, found, strict=True):
        if ident is not None:
            first.setdefault(p.id, ident)
    held = {sid for p in performers for sid in p.stash_ids}
    items = []
    for p in performers:
        if p.id not in first:
            continue
        identity = first[p.id]
        ids = [(e, s) for e, s, _ in ids_with_records(identity)]
        pid = next(iter(identity.performer_ids()), 0)
        have = {endpoint_key(e) for e, _ in p.stash_ids}
        new = [(e, s) for e, s in ids if endpoint_key(e) not in have]
        new = [pair for n, pair in enumerate(new) if endpoint_key(pair[0]) not in
               {endpoint_key(e) for e, _ in new[:n]}]  # fmt: skip
        if not new or any(sid in held for sid in new):
            continue
        stash_ids = [{"endpoint": e, "stash_id": s} for e, s in ids]
        items.append({
            "id": f"graph:{p.id}:{new[0][0]}|{new[0][1]}", "kind": "graph",
            "score": float(len(new)),
            "evidence": [f"{p.name}'s stash ids are identity {identity.name} in the identity graph",
                         f"adds {len(new)} stash id(s): " + ", ".join(f"{e} {s}" for e, s in new)],
            "performer": {"id": p.id, "name": p.name, "image_url": p.image_url},
            "match": {"performer_id": pid, "name": identity.name, "disambiguation": None,
                      "distance": 0.0, "tier": "graph", "stash_ids": stash_ids, "image_url": None},
            "apply_stash_ids": [{"endpoint": e, "stash_id": s} for e, s in [*p.stash_ids, *new]],
        })  # fmt: skip
    return items
