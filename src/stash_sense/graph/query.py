"""Reading a built graph: an identity with its records and the links that join them (`explain`,
or by any stash id it carries: `identity_for_stash_id`), and the links left for review."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from stash_sense.graph.model import Link
from stash_sense.graph.store import GraphError, graph_errors, open_graph, read_links


@dataclass(frozen=True)
class RecordRow:
    """A stored record as `explain` shows it."""

    key: str
    endpoint: str
    source_id: str
    name: str
    aliases: list[str]
    country: str | None
    birthdate: str | None
    urls: list[str]
    image_count: int
    faces: int
    performer_id: int | None
    skipped: list[str]
    #: the record's ids on other endpoints and those merged into it, as [endpoint, id]
    other_ids: list[list[str]]


@dataclass(frozen=True)
class Explained:
    """One identity: its records, the primary one, and every link between its records (accepted
    ones joined them; review and rejected ones are shown too)."""

    id: str
    name: str
    primary: str
    records: list[RecordRow]
    links: list[Link]

    def stash_ids(self) -> list[tuple[str, str]]:
        """Every (endpoint, stash id) of the identity across its records, sorted; local ids
        (`db:<performer id>`) left out."""
        ids = {(r.endpoint, r.source_id) for r in self.records if not r.source_id.startswith("db:")}
        ids |= {(str(ep), str(sid)) for r in self.records for ep, sid in r.other_ids}
        return sorted(ids)

    def names(self) -> dict[str, list[str]]:
        """Each endpoint's names for the identity (record names first, then aliases)."""
        out: dict[str, list[str]] = {}
        for r in self.records:
            seen = out.setdefault(r.endpoint, [])
            seen += [n for n in (r.name, *r.aliases) if n not in seen]
        return out

    def urls(self) -> list[str]:
        """Every profile URL of the identity's records, as the sources wrote them, sorted."""
        return sorted({u for r in self.records for u in r.urls})

    def performer_ids(self) -> list[int]:
        """The face database's performer rows behind the identity (their faces are its faces)."""
        return sorted({r.performer_id for r in self.records if r.performer_id is not None})

    @property
    def faces(self) -> int:
        """Faces aggregated over every record of the identity."""
        return sum(r.faces for r in self.records)


def open_existing(graph_file: Path) -> sqlite3.Connection:
    if not graph_file.is_file():
        raise GraphError(
            f"no identity graph at {graph_file}: run `stash-sense db graph build` first"
        )
    return open_graph(graph_file)


@graph_errors
def explain(graph_file: Path, ident: str) -> Explained | None:
    """The identity named by its id, a record key (`<endpoint>#<id>`), a bare source id, a
    face database performer id or, last, a record's name; None when nothing matches."""
    conn = open_existing(graph_file)
    try:
        row = conn.execute(
            "SELECT identity FROM records WHERE identity = ? OR key = ? OR source_id = ? "
            "OR CAST(performer_id AS TEXT) = ? OR name = ? COLLATE NOCASE "
            "ORDER BY name = ? COLLATE NOCASE, key LIMIT 1",
            (ident, ident, ident, ident, ident, ident),
        ).fetchone()
        return None if row is None else _identity(conn, str(row[0]))
    finally:
        conn.close()


@graph_errors
def identity_for_stash_id(graph_file: Path, endpoint: str, stash_id: str) -> Explained | None:
    """The identity holding stash id `stash_id` of `endpoint` (a record's own id, an id a
    record states elsewhere, or one merged into it upstream); None when no record carries it.
    Its `stash_ids()` are every endpoint's ids of that person."""
    conn = open_existing(graph_file)
    try:
        row = conn.execute(
            "SELECT r.identity FROM record_ids i JOIN records r ON r.key = i.key "
            "WHERE i.endpoint = ? AND i.stash_id = ? ORDER BY r.key LIMIT 1",
            (endpoint, stash_id),
        ).fetchone()
        return None if row is None else _identity(conn, str(row[0]))
    finally:
        conn.close()


@graph_errors
def identities_for_performers(graph_file: Path, performer_ids: list[int]) -> dict[int, Explained]:
    """The identity of each face database performer row that is a record of the graph (rows
    the graph has not seen yet are left out)."""
    conn = open_existing(graph_file)
    try:
        found: dict[str, Explained] = {}
        out: dict[int, Explained] = {}
        for pid in dict.fromkeys(performer_ids):
            row = conn.execute(
                "SELECT identity FROM records WHERE performer_id = ? LIMIT 1", (pid,)
            ).fetchone()
            if row is not None:
                ident = str(row[0])
                if ident not in found:
                    found[ident] = _identity(conn, ident)
                out[pid] = found[ident]
        return out
    finally:
        conn.close()


def _identity(conn: sqlite3.Connection, identity: str) -> Explained:
    """One identity of an open graph file, with its records and the links among them."""
    name, primary = conn.execute(
        "SELECT name, primary_key FROM identities WHERE id = ?", (identity,)
    ).fetchone()
    records = [
        RecordRow(
            key=r[0],
            endpoint=r[1],
            source_id=r[2],
            name=r[3],
            aliases=json.loads(r[4]),
            country=r[5],
            birthdate=r[6],
            urls=json.loads(r[7]),
            image_count=int(r[8]),
            faces=int(r[12]),
            performer_id=r[9],
            skipped=json.loads(r[10]),
            other_ids=json.loads(r[11]),
        )
        for r in conn.execute(
            "SELECT key, endpoint, source_id, name, aliases, country, birthdate, urls, "
            "image_count, performer_id, skipped, stash_ids, faces FROM records "
            "WHERE identity = ? ORDER BY key",
            (identity,),
        )
    ]
    keys = tuple(r.key for r in records)
    marks = ",".join("?" * len(keys))
    links = read_links(conn, f"a IN ({marks}) AND b IN ({marks})", keys + keys)
    return Explained(identity, str(name), str(primary), records, links)


@graph_errors
def review_links(graph_file: Path) -> list[Link]:
    """The links left for a maintainer, strongest first."""
    conn = open_existing(graph_file)
    try:
        return read_links(conn, "status = ?", ("review",))
    finally:
        conn.close()


@graph_errors
def find_link(graph_file: Path, a: str, b: str) -> Link | None:
    """The stored link between two records, either order."""
    conn = open_existing(graph_file)
    try:
        x, y = sorted((a, b))
        found = read_links(conn, "a = ? AND b = ?", (x, y))
        return found[0] if found else None
    finally:
        conn.close()


@graph_errors
def missing_records(graph_file: Path, keys: list[str]) -> list[str]:
    """Those of `keys` that are no record of the graph."""
    conn = open_existing(graph_file)
    try:
        return [
            k
            for k in keys
            if not conn.execute("SELECT 1 FROM records WHERE key = ?", (k,)).fetchone()
        ]
    finally:
        conn.close()
