"""The identity graph: one performer across every source. Source records (a performer as one
endpoint describes them) are linked by explicit ids, profile URLs, names, birthdate, country and
faces into identities; see docs/identity-graph.md."""

from stash_sense.graph.build import BuildSummary, build_graph, graph_paths
from stash_sense.graph.decisions import DecisionsError, load_decisions, record_decision
from stash_sense.graph.evidence import Rules
from stash_sense.graph.link import Graph, link_records
from stash_sense.graph.model import (
    DEFAULT_PRECEDENCE,
    Evidence,
    Identity,
    Kind,
    Link,
    SourceRecord,
    Status,
    primary_record,
    record_key,
)
from stash_sense.graph.query import (
    Explained,
    RecordRow,
    explain,
    find_link,
    identities_for_performers,
    identity_for_stash_id,
    missing_records,
    review_links,
)
from stash_sense.graph.store import GraphError

__all__ = [
    "DEFAULT_PRECEDENCE",
    "BuildSummary",
    "DecisionsError",
    "Evidence",
    "Explained",
    "Graph",
    "GraphError",
    "Identity",
    "Kind",
    "Link",
    "RecordRow",
    "Rules",
    "SourceRecord",
    "Status",
    "build_graph",
    "explain",
    "find_link",
    "graph_paths",
    "identities_for_performers",
    "identity_for_stash_id",
    "link_records",
    "load_decisions",
    "missing_records",
    "primary_record",
    "record_decision",
    "record_key",
    "review_links",
]
