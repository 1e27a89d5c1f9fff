"""Incremental relinking: after a build of one endpoint, only the records that are new or
changed (their fingerprint differs from the stored one) are weighed again against their
candidates (records sharing a stored blocking key, faces near theirs); every stored link between
two unchanged records is kept as it was, and union-find runs again over all of them, so a record
that arrives later joins its identity and a removed piece of evidence splits one."""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from stash_sense.graph.evidence import Features, Rules, features
from stash_sense.graph.faces import nearest_face_pairs
from stash_sense.graph.link import MAX_BUCKET, Graph, bucket_keys, judge, union, weigh
from stash_sense.graph.model import Kind, Link, SourceRecord
from stash_sense.graph.store import fingerprint, read_links


@dataclass(frozen=True)
class Relinked:
    """An incrementally relinked graph and what it cost: records new or changed, records gone,
    records weighed again (the changed ones and their candidates), pairs weighed, links kept."""

    graph: Graph
    changed: int
    removed: int
    touched: int
    pairs: int
    kept_links: int
    #: the records whose blocking keys `graph.buckets` holds (the rest keep their stored keys)
    rebucketed: set[str]


def stored_fingerprints(conn: sqlite3.Connection) -> dict[str, str]:
    """Record key -> fingerprint of the stored graph."""
    return {str(k): str(f) for k, f in conn.execute("SELECT key, fingerprint FROM records")}


def relink(
    conn: sqlite3.Connection,
    records: Sequence[SourceRecord],
    *,
    fusion: Mapping[str, float],
    rules: Rules,
    decisions: Mapping[tuple[str, str], bool],
    precedence: tuple[str, ...],
) -> Relinked:
    """Relink `records` (every record of the database now) against the graph stored in `conn`,
    weighing again only the pairs that involve a new or changed record or a decision."""
    stored = stored_fingerprints(conn)
    index = {r.key: i for i, r in enumerate(records)}
    changed = [i for i, r in enumerate(records) if stored.get(r.key) != fingerprint(r)]
    removed = set(stored) - set(index)
    dirty = {records[i].key for i in changed} | removed
    feats: dict[int, Features] = {i: features(records[i]) for i in changed}
    pairs = _bucket_pairs(conn, feats, index, dirty)
    near = (
        nearest_face_pairs(records, fusion, rules.tiers[2], rows=changed)
        if fusion and changed
        else {}
    )
    pairs |= set(near)
    kept: list[Link] = []
    for lk in read_links(conn):
        decided = any(e.kind == Kind.DECISION for e in lk.evidence)
        if lk.a in dirty or lk.b in dirty or decided or (lk.a, lk.b) in decisions:
            if decided and lk.a in index and lk.b in index:
                pairs.add(_pair(index[lk.a], index[lk.b]))
            continue
        lk.score, lk.status, lk.reason = judge(lk.evidence, rules)  # as weighed, before union
        kept.append(lk)
    pairs |= {_pair(index[a], index[b]) for a, b in decisions if a in index and b in index}
    for i, j in pairs:
        for n in (i, j):
            if n not in feats:
                feats[n] = features(records[n])
    weighed = [
        weigh(feats[i], feats[j], near.get((i, j)), fusion, rules, decisions)
        for i, j in sorted(pairs)
    ]
    links = kept + [lk for lk in weighed if lk is not None]
    skipped = {
        str(k): json.loads(v)
        for k, v in conn.execute("SELECT key, skipped FROM records WHERE skipped != '[]'")
        if k not in dirty
    }
    skipped |= {records[i].key: feats[i].skipped for i in changed if feats[i].skipped}
    rebucketed = {records[i].key for i in changed} | removed
    buckets = [(b, records[i].key) for i in changed for b in bucket_keys(feats[i])]
    graph = Graph(union(records, links, precedence), links, skipped, buckets)
    touched = len({n for p in pairs for n in p} | set(changed))
    return Relinked(graph, len(changed), len(removed), touched, len(pairs), len(kept), rebucketed)


def _bucket_pairs(
    conn: sqlite3.Connection,
    feats: Mapping[int, Features],
    index: Mapping[str, int],
    dirty: set[str],
) -> set[tuple[int, int]]:
    """Pairs of a changed record and a record sharing one of its blocking keys (stored keys of
    unchanged records, and the changed records' own); a name or URL key of more than
    MAX_BUCKET records proposes nothing, as in a full build."""
    mine: dict[str, list[int]] = defaultdict(list)
    for i, f in feats.items():
        for key in bucket_keys(f):
            mine[key].append(i)
    pairs: set[tuple[int, int]] = set()
    for key, members in mine.items():
        others = [
            index[str(k)]
            for (k,) in conn.execute("SELECT key FROM buckets WHERE bucket = ?", (key,))
            if k not in dirty and k in index
        ]
        everyone = members + others
        if len(everyone) > MAX_BUCKET and not key.startswith("id:"):
            continue
        pairs |= {_pair(i, j) for i in members for j in everyone if i != j}
    return pairs


def _pair(i: int, j: int) -> tuple[int, int]:
    return (min(i, j), max(i, j))
