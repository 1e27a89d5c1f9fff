"""Linking: candidate pairs (shared ids, URLs, name keys, near faces), each weighed into a link
that is accepted, left for review or rejected; a maintainer's decision wins; then union-find
over the accepted links, strongest first, with a conflict check per identity."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from stash_sense.graph.evidence import Features, Rules, compare, features
from stash_sense.graph.faces import face_distance, nearest_face_pairs
from stash_sense.graph.model import (
    DEFAULT_PRECEDENCE,
    Evidence,
    Identity,
    Kind,
    Link,
    SourceRecord,
    Status,
    identity_id,
    primary_record,
)

#: a name key shared by more records than this is too common to propose pairs by (a bucket of
#: n records is n^2 pairs); such records still link by other evidence
MAX_BUCKET = 50
#: kinds that decide a link on their own (with no conflicting evidence)
STRONG = {Kind.ID, Kind.URL, Kind.DECISION}


@dataclass
class Graph:
    """The result of linking: identities, every link considered, what was skipped and why."""

    identities: list[Identity]
    links: list[Link]
    skipped: dict[str, list[str]] = field(default_factory=dict)
    #: (blocking key, record key) of every record linked (see `bucket_keys`)
    buckets: list[tuple[str, str]] = field(default_factory=list)

    def identity_of(self) -> dict[str, str]:
        return {r.key: ident.id for ident in self.identities for r in ident.records}


def bucket_keys(f: Features) -> list[str]:
    """The blocking keys a record is filed under: its ids, profile URLs and name keys (records
    sharing one are candidate pairs)."""
    keys = [f"id:{ep}#{sid}" for ep, sid in sorted(f.ids)]
    keys += [f"url:{url}" for url in sorted(f.urls)]
    return keys + [f"name:{key}" for key in sorted(f.name_keys | f.alias_keys)]


def candidates(feats: Sequence[Features]) -> set[tuple[int, int]]:
    """Pairs (i < j) of records sharing an id, a URL or a name key (a name or URL bucket of
    more than MAX_BUCKET records proposes nothing)."""
    buckets: dict[str, list[int]] = defaultdict(list)
    for i, f in enumerate(feats):
        for key in bucket_keys(f):
            buckets[key].append(i)
    pairs: set[tuple[int, int]] = set()
    for bucket_key, members in buckets.items():
        if len(members) > MAX_BUCKET and not bucket_key.startswith("id:"):
            continue
        for x, i in enumerate(members):
            for j in members[x + 1 :]:
                if i != j:
                    pairs.add((min(i, j), max(i, j)))
    return pairs


def decide(evidence: list[Evidence], rules: Rules) -> tuple[float, Status, str]:
    """A link's score, status and why: an explicit id or a decision accepts; conflicting
    evidence or one kind of evidence alone (a name, a face) never does without an id or a
    shared profile URL; otherwise the score decides."""
    score = sum(e.weight for e in evidence)
    kinds = {e.kind for e in evidence if e.weight > 0}
    conflicts = sorted({e.kind.value for e in evidence if e.conflicts and e.kind != Kind.FACE})
    if Kind.DECISION in kinds:
        return score, Status.ACCEPTED, "a maintainer's decision"
    if Kind.ID in kinds:
        return score, Status.ACCEPTED, "an explicit id"
    if conflicts:
        # strong evidence against a conflict is for a person to judge, never dropped silently
        strong = bool(kinds & STRONG)
        status = Status.REVIEW if strong or score >= rules.accept else Status.REJECTED
        return score, status, f"conflicting {', '.join(conflicts)}"
    if len(kinds - {Kind.COUNTRY}) == 1 and not kinds & STRONG:
        # one kind alone (a name shared by namesakes, a look-alike's face) never links
        alone = next(iter(kinds - {Kind.COUNTRY})).value
        status = Status.REVIEW if score >= rules.review else Status.REJECTED
        return score, status, f"a {alone} alone"
    if score >= rules.accept:
        return score, Status.ACCEPTED, f"score {score:.1f} >= {rules.accept:.1f}"
    if score >= rules.review:
        return score, Status.REVIEW, f"score {score:.1f} below {rules.accept:.1f}"
    return score, Status.REJECTED, f"score {score:.1f} below {rules.review:.1f}"


def link_records(
    records: Sequence[SourceRecord],
    *,
    fusion: Mapping[str, float],
    rules: Rules | None = None,
    decisions: Mapping[tuple[str, str], bool] | None = None,
    precedence: tuple[str, ...] = DEFAULT_PRECEDENCE,
    kinds: set[Kind] | None = None,
) -> Graph:
    """Link records into identities. `decisions` maps a key pair (sorted) to accept (True) or
    reject (False); `kinds` limits the evidence used (ablation), all kinds when None."""
    rules = rules or Rules()
    decisions = decisions or {}
    feats = [features(r) for r in records]
    index = {r.key: i for i, r in enumerate(records)}
    pairs = candidates(feats)
    near = nearest_face_pairs(records, fusion, rules.tiers[2]) if fusion else {}
    pairs |= set(near)
    for a, b in decisions:
        if a in index and b in index:
            pairs.add((min(index[a], index[b]), max(index[a], index[b])))
    links = [
        lk
        for i, j in sorted(pairs)
        if (lk := weigh(feats[i], feats[j], near.get((i, j)), fusion, rules, decisions, kinds))
    ]
    identities = union(records, links, precedence)
    skipped = {f.record.key: f.skipped for f in feats if f.skipped}
    buckets = [(key, f.record.key) for f in feats for key in bucket_keys(f)]
    return Graph(identities, links, skipped, buckets)


def weigh(
    fa: Features,
    fb: Features,
    dist: float | None,
    fusion: Mapping[str, float],
    rules: Rules,
    decisions: Mapping[tuple[str, str], bool],
    kinds: set[Kind] | None = None,
) -> Link | None:
    """The link between two records (`dist`: their faces' fused distance when already known),
    or None when nothing speaks for it or they are two records of one endpoint that no merge
    or decision joins (one endpoint lists a person once)."""
    ra, rb = fa.record, fb.record
    a, b = sorted((ra.key, rb.key))
    decision = decisions.get((a, b))
    if ra.endpoint == rb.endpoint and not fa.ids & fb.ids and decision is not True:
        return None
    if dist is None and fusion:
        dist = face_distance(ra, rb, fusion)
    evidence = compare(fa, fb, dist, rules)
    if kinds is not None:
        evidence = [e for e in evidence if e.kind in kinds]
    if decision is not None:
        evidence.insert(0, _decision_evidence(decision))
    if not any(e.weight > 0 for e in evidence):
        return None
    score, status, reason = judge(evidence, rules)
    return Link(a, b, evidence, score, status, reason)


def judge(evidence: list[Evidence], rules: Rules) -> tuple[float, Status, str]:
    """`decide`, with a maintainer's rejection in the evidence winning over everything."""
    score, status, reason = decide(evidence, rules)
    if any(e.kind == Kind.DECISION and e.conflicts for e in evidence):
        return score, Status.REJECTED, "a maintainer's decision"
    return score, status, reason


def _decision_evidence(accept: bool) -> Evidence:
    if accept:
        return Evidence(Kind.DECISION, 100.0, "accepted by a maintainer")
    return Evidence(Kind.DECISION, -100.0, "rejected by a maintainer")


def union(
    records: Sequence[SourceRecord], links: list[Link], precedence: tuple[str, ...]
) -> list[Identity]:
    """Union-find over accepted links, strongest first. An identity may not hold two records of
    one endpoint unless an explicit id or a decision joins them: such a link goes to review."""
    parent = {r.key: r.key for r in records}
    endpoints: dict[str, dict[str, int]] = {r.key: {r.endpoint: 1} for r in records}

    def find(key: str) -> str:
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    accepted = [lk for lk in links if lk.status == Status.ACCEPTED]
    accepted.sort(key=lambda lk: (-lk.score, lk.a, lk.b))
    for lk in accepted:
        ra, rb = find(lk.a), find(lk.b)
        if ra == rb:
            continue
        both = set(endpoints[ra]) & set(endpoints[rb])
        if both and not lk.kinds & {Kind.ID, Kind.DECISION}:
            lk.status = Status.REVIEW
            lk.reason = f"would put two records of {sorted(both)[0]} in one identity"
            continue
        parent[rb] = ra
        for ep, n in endpoints.pop(rb).items():
            endpoints[ra][ep] = endpoints[ra].get(ep, 0) + n
    groups: dict[str, list[SourceRecord]] = defaultdict(list)
    for rec in records:
        groups[find(rec.key)].append(rec)
    out = []
    for members in groups.values():
        keys = [r.key for r in members]
        out.append(Identity(identity_id(keys), members, primary_record(members, precedence)))
    return sorted(out, key=lambda ident: ident.id)
