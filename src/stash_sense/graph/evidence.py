"""What two source records have in common or in conflict: ids, profile URLs, names, birthdate,
country and faces, each weighed into a score by `Rules` (the weights the benchmark tunes)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from stash_sense.graph.model import Evidence, Kind, SourceRecord
from stash_sense.graph.names import fold, name_keys, usable_name
from stash_sense.graph.urls import canonical_url, is_profile

#: at most this many aliases of a record are read (a hostile record may list millions)
MAX_ALIASES = 200
_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


@dataclass(frozen=True)
class Rules:
    """Weights of each kind of evidence and the score a link needs. Face tiers are fused
    distances (the database's calibrated `high`, `likely`, `possible`)."""

    url: float = 6.0
    name: float = 3.0
    alias: float = 2.0
    birthdate_agrees: float = 3.0
    birthdate_conflicts: float = -8.0
    #: the same day and month, the year one apart (chosen on the tuning half's misses)
    birthdate_near: float = 0.5
    country_agrees: float = 0.5
    country_conflicts: float = -4.0
    face_high: float = 4.0
    face_likely: float = 2.5
    face_possible: float = 1.0
    face_far: float = -1.0
    #: for the default ensemble (SFace + dlib ResNet, fusion 0.25/0.75): the fused distances
    #: below which 1e-4, 1e-3 and 1e-2 of different people's photo pairs fall, measured by
    #: bench/bench_graph.py on its tuning half (docs/identity-graph.md)
    tiers: tuple[float, float, float] = (0.212, 0.2315, 0.2606)
    #: a link is accepted at this score, kept for review from `review` up (tuned by
    #: bench/bench_graph.py on its tuning half)
    accept: float = 3.5
    review: float = 3.0


@dataclass
class Features:
    """A record's comparable features, computed once; `skipped` says what was left out, why."""

    record: SourceRecord
    name_keys: set[str]
    alias_keys: set[str]
    urls: set[str]
    birthdate: tuple[str, str | None, str | None] | None
    country: str | None
    ids: set[tuple[str, str]]
    skipped: list[str] = field(default_factory=list)


def features(rec: SourceRecord) -> Features:
    """Read a record's features, skipping (with a reason) what cannot be used safely."""
    skipped: list[str] = []
    reason = usable_name(rec.name)
    keys = name_keys(rec.name) if reason is None else set()
    if reason:
        skipped.append(f"name: {reason}")
    alias_keys: set[str] = set()
    if len(rec.aliases) > MAX_ALIASES:
        skipped.append(f"aliases: {len(rec.aliases)} listed, the first {MAX_ALIASES} read")
    for alias in rec.aliases[:MAX_ALIASES]:
        why = usable_name(alias)
        if why is None:
            alias_keys |= name_keys(alias)
        else:
            skipped.append(f"alias: {why}")
    urls: set[str] = set()
    for url in rec.urls[:MAX_ALIASES]:
        canon = canonical_url(url)
        if canon.key is None:
            skipped.append(f"url: {canon.reason}")
        elif is_profile(canon):
            urls.add(canon.key)
    date = _DATE.match(rec.birthdate or "")
    country = fold(rec.country or "") or None
    ids = {(rec.endpoint, rec.source_id), *rec.same_as, *rec.merged_ids}
    return Features(
        record=rec,
        name_keys=keys,
        alias_keys=alias_keys - keys,
        urls=urls,
        birthdate=date.groups() if date else None,  # type: ignore[arg-type]
        country=country,
        ids=ids,
        skipped=skipped,
    )


def kept_aliases(rec: SourceRecord) -> list[str]:
    """The aliases the graph stores: the first MAX_ALIASES usable ones."""
    return [a for a in rec.aliases[:MAX_ALIASES] if usable_name(a) is None]


def kept_urls(rec: SourceRecord) -> list[str]:
    """The URLs the graph stores: web addresses only, the first MAX_ALIASES."""
    return [u for u in rec.urls[:MAX_ALIASES] if canonical_url(u).key is not None]


def explicit(a: Features, b: Features) -> Evidence | None:
    """An id one record states for the other (a TPDB StashDB link, a merge record)."""
    ra, rb = a.record, b.record
    for left, right in ((a, b), (b, a)):
        rec = right.record
        if (rec.endpoint, rec.source_id) in left.ids - {
            (left.record.endpoint, left.record.source_id)
        }:
            merged = (rec.endpoint, rec.source_id) in left.record.merged_ids
            how = "merge record" if merged else "stated id"
            return Evidence(Kind.ID, 100.0, f"{how}: {left.record.key} names {rec.key}")
    shared = (a.ids - {(ra.endpoint, ra.source_id)}) & (b.ids - {(rb.endpoint, rb.source_id)})
    if shared:
        ep, sid = sorted(shared)[0]
        return Evidence(Kind.ID, 100.0, f"both state {ep}#{sid}")
    return None


def compare(a: Features, b: Features, face: float | None, rules: Rules) -> list[Evidence]:
    """Every piece of evidence between two records; `face` is their nearest faces' fused
    distance (None when one has no face)."""
    out: list[Evidence] = []
    ident = explicit(a, b)
    if ident:
        out.append(ident)
    shared_urls = a.urls & b.urls
    if shared_urls:
        out.append(Evidence(Kind.URL, rules.url, ", ".join(sorted(shared_urls)[:3])))
    if a.name_keys & b.name_keys:
        out.append(Evidence(Kind.NAME, rules.name, f"{a.record.name} = {b.record.name}"))
    elif (a.name_keys | a.alias_keys) & (b.name_keys | b.alias_keys):
        key = sorted((a.name_keys | a.alias_keys) & (b.name_keys | b.alias_keys))[0]
        out.append(Evidence(Kind.NAME, rules.alias, f"alias {key}"))
    if a.birthdate and b.birthdate:
        out.append(_birthdate(a.birthdate, b.birthdate, a.record, b.record, rules))
    if a.country and b.country:
        same = a.country == b.country
        weight = rules.country_agrees if same else rules.country_conflicts
        out.append(Evidence(Kind.COUNTRY, weight, f"{a.record.country} vs {b.record.country}"))
    if face is not None:
        high, likely, possible = rules.tiers
        if face <= high:
            out.append(Evidence(Kind.FACE, rules.face_high, f"high tier, distance {face:.3f}"))
        elif face <= likely:
            out.append(Evidence(Kind.FACE, rules.face_likely, f"likely tier, distance {face:.3f}"))
        elif face <= possible:
            out.append(Evidence(Kind.FACE, rules.face_possible, f"possible, distance {face:.3f}"))
        else:
            out.append(Evidence(Kind.FACE, rules.face_far, f"no tier, distance {face:.3f}"))
    return [e for e in out if e.weight != 0]


def _birthdate(
    a: tuple[str, str | None, str | None],
    b: tuple[str, str | None, str | None],
    ra: SourceRecord,
    rb: SourceRecord,
    rules: Rules,
) -> Evidence:
    detail = f"{ra.birthdate} vs {rb.birthdate}"
    known = [(x, y) for x, y in zip(a, b, strict=True) if x and y]
    if len(known) == 3 and a[1:] == b[1:] and abs(int(a[0]) - int(b[0])) == 1:
        # the same day and month a year apart: a source's typo (or a fudged age) far more often
        # than two people; partial agreement, like a shared year or month alone
        return Evidence(Kind.BIRTHDATE, rules.birthdate_near, f"{detail} (year one apart)")
    if any(x != y for x, y in known):
        return Evidence(Kind.BIRTHDATE, rules.birthdate_conflicts, detail)
    weight = rules.birthdate_agrees if len(known) == 3 else rules.birthdate_agrees / 6
    return Evidence(Kind.BIRTHDATE, weight, detail)
