"""Reconciliation between builds: identities keep their ids when records join them (StashDB adds
a performer that was JAVStash-only) and when they split (evidence changed), so an id a user or
another part holds keeps naming the same person; what changed is counted."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace

from stash_sense.graph.model import Identity, identity_id


@dataclass(frozen=True)
class Changes:
    """Since the previous build: records new to the graph, records that joined an identity that
    already existed, identities that split, identities that are new."""

    new_records: int = 0
    joined: int = 0
    splits: int = 0
    new_identities: int = 0


def carry_ids(
    identities: list[Identity], previous: dict[str, str]
) -> tuple[list[Identity], Changes]:
    """Give each identity the previous id most of its records had (each previous id once: on a
    split the larger part keeps it); `previous` maps record key -> identity id of the last build."""
    if not previous:
        return identities, Changes(new_records=sum(len(i.records) for i in identities))
    claims: list[tuple[int, str, int]] = []  # (records, old id, index)
    for n, ident in enumerate(identities):
        votes = Counter(previous[r.key] for r in ident.records if r.key in previous)
        claims += [(count, old, n) for old, count in votes.items()]
    taken: dict[int, str] = {}
    used: set[str] = set()
    for _count, old, n in sorted(claims, key=lambda c: (-c[0], c[1], c[2])):
        if n not in taken and old not in used:
            taken[n] = old
            used.add(old)
    out: list[Identity] = []
    joined = splits = fresh = 0
    for n, ident in enumerate(identities):
        old_id = taken.get(n)
        olds = {previous[r.key] for r in ident.records if r.key in previous}
        if old_id is None:
            fresh += 1
            splits += bool(olds)
            old_id = _unused(ident, used)  # its own id may be the one the larger part kept
            used.add(old_id)
        else:
            joined += sum(1 for r in ident.records if previous.get(r.key) != old_id)
        out.append(replace(ident, id=old_id))
    new_records = sum(1 for i in identities for r in i.records if r.key not in previous)
    return out, Changes(new_records, joined, splits, fresh)


def _unused(ident: Identity, used: set[str]) -> str:
    """The identity's own id, or when another identity holds it (a split part whose smallest
    record named the whole before), one derived from all its record keys."""
    candidate, salt = ident.id, 0
    keys = sorted(r.key for r in ident.records)
    while candidate in used:
        salt += 1
        candidate = identity_id([f"{salt}|{'|'.join(keys)}"])
    return candidate
