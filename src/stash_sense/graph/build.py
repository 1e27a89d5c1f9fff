"""Build the graph of a face database folder: read its performers, link them, write
`graph.sqlite` beside its generations (the maintainer's decisions file read on every build)."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from stash_sense.database import FaceDatabase
from stash_sense.graph.decisions import DECISIONS_NAME, load_decisions
from stash_sense.graph.evidence import Rules
from stash_sense.graph.link import Graph, link_records
from stash_sense.graph.model import DEFAULT_PRECEDENCE, SourceRecord, Status
from stash_sense.graph.reconcile import Changes, carry_ids
from stash_sense.graph.relink import Relinked, relink, stored_fingerprints
from stash_sense.graph.source import records_from_database, rules_for
from stash_sense.graph.store import (
    GRAPH_NAME,
    fingerprint,
    graph_errors,
    open_graph,
    write_graph,
)


@dataclass(frozen=True)
class BuildSummary:
    """What a build found: records, identities, links per status, records with skipped data."""

    graph: Path
    records: int
    identities: int
    multi_source: int
    links: dict[str, int]
    skipped: int
    decisions: int
    changes: Changes
    #: "full" (every record linked) or "incremental" (only new and changed records weighed)
    mode: str = "full"
    #: records new or changed, removed, weighed again (with their candidates); pairs weighed
    relinked: dict[str, int] = field(default_factory=dict)
    link_seconds: float = 0.0


def graph_paths(root: Path) -> tuple[Path, Path]:
    """The graph file and the decisions file of a database folder (its root, not a generation)."""
    return root / GRAPH_NAME, root / DECISIONS_NAME


def build_graph(
    root: Path,
    *,
    rules: Rules | None = None,
    precedence: tuple[str, ...] = DEFAULT_PRECEDENCE,
    full: bool = False,
) -> BuildSummary:
    """Link the performers of the database at `root` and replace its graph file: only the new
    and changed records when a graph was built before (unless `full`), else every record."""
    graph_file, decisions_file = graph_paths(root)
    decisions = load_decisions(decisions_file)
    with FaceDatabase.open(root) as db:
        records = records_from_database(db)
        rules = rules_for(db, rules)
        fusion = dict(db.manifest.fusion)
    started = time.perf_counter()
    previous = previous_identities(graph_file)
    relinked = (
        None
        if full or not previous
        else _relink(graph_file, records, fusion, rules, decisions, precedence)
    )
    if relinked is None:
        graph = link_records(
            records, fusion=fusion, rules=rules, decisions=decisions, precedence=precedence
        )
        stats = {"changed": len(records), "removed": 0, "touched": len(records)}
    else:
        graph = relinked.graph
        stats = {
            "changed": relinked.changed,
            "removed": relinked.removed,
            "touched": relinked.touched,
            "pairs": relinked.pairs,
            "kept_links": relinked.kept_links,
        }
    graph.identities, changes = carry_ids(graph.identities, previous)
    seconds = time.perf_counter() - started
    save(graph_file, graph, None if relinked is None else relinked.rebucketed)
    counts = Counter(lk.status.value for lk in graph.links)
    return BuildSummary(
        graph=graph_file,
        records=len(records),
        identities=len(graph.identities),
        multi_source=sum(1 for i in graph.identities if len(i.records) > 1),
        links={s.value: counts.get(s.value, 0) for s in Status},
        skipped=len(graph.skipped),
        decisions=len(decisions),
        changes=changes,
        mode="full" if relinked is None else "incremental",
        relinked=stats,
        link_seconds=round(seconds, 3),
    )


@graph_errors
def _relink(
    graph_file: Path,
    records: list[SourceRecord],
    fusion: dict[str, float],
    rules: Rules,
    decisions: dict[tuple[str, str], bool],
    precedence: tuple[str, ...],
) -> Relinked | None:
    """The incremental relink against the stored graph; None when most records changed (a full
    link is then quicker than looking each one up)."""
    conn = open_graph(graph_file)
    try:
        stored = stored_fingerprints(conn)
        changed = sum(1 for r in records if stored.get(r.key) != fingerprint(r))
        if changed > len(records) // 2:
            return None
        return relink(
            conn, records, fusion=fusion, rules=rules, decisions=decisions, precedence=precedence
        )
    finally:
        conn.close()


@graph_errors
def previous_identities(graph_file: Path) -> dict[str, str]:
    """Record key -> identity id of the last build ({} when there is none)."""
    if not graph_file.is_file():
        return {}
    conn = open_graph(graph_file)
    try:
        return {str(k): str(i) for k, i in conn.execute("SELECT key, identity FROM records")}
    finally:
        conn.close()


@graph_errors
def save(graph_file: Path, graph: Graph, rebucketed: set[str] | None = None) -> None:
    """Write a linked graph into its file (replacing the previous build; `rebucketed`: the
    records whose blocking keys `graph.buckets` holds, every record when None)."""
    records = [r for ident in graph.identities for r in ident.records]
    identities = [(i.id, i.primary.key, i.name, len(i.records)) for i in graph.identities]
    conn = open_graph(graph_file)
    try:
        write_graph(
            conn,
            records,
            graph.identity_of(),
            graph.links,
            identities,
            graph.skipped,
            graph.buckets,
            rebucketed,
        )
    finally:
        conn.close()
