"""The graph's SQLite file, `graph.sqlite` in the face database's folder beside its generations:
records, links with their evidence, identities; numbered migrations (`PRAGMA user_version`).

It lives apart from the generations because a generation is immutable and replaced whole by an
update or a rollback, while the graph is derived from it and rebuilt by `db graph build`; its
schema moves on its own versions without forcing a new face database."""

from __future__ import annotations

import functools
import hashlib
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import ParamSpec, TypeVar

import numpy as np

from stash_sense.graph.evidence import kept_aliases, kept_urls
from stash_sense.graph.model import Evidence, Kind, Link, SourceRecord, Status

GRAPH_NAME = "graph.sqlite"
#: migration n takes a file from version n-1 to n; never edit one that has shipped, add one
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE records (
        key TEXT PRIMARY KEY,
        endpoint TEXT NOT NULL,
        source_id TEXT NOT NULL,
        name TEXT NOT NULL,
        aliases TEXT NOT NULL,
        country TEXT,
        birthdate TEXT,
        urls TEXT NOT NULL,
        image_count INTEGER NOT NULL,
        performer_id INTEGER,
        identity TEXT NOT NULL,
        skipped TEXT NOT NULL DEFAULT '[]',
        stash_ids TEXT NOT NULL DEFAULT '[]',
        faces INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX records_identity ON records(identity);
    CREATE TABLE links (
        a TEXT NOT NULL,
        b TEXT NOT NULL,
        score REAL NOT NULL,
        status TEXT NOT NULL,
        reason TEXT NOT NULL,
        evidence TEXT NOT NULL,
        PRIMARY KEY (a, b)
    );
    CREATE INDEX links_status ON links(status);
    CREATE TABLE identities (
        id TEXT PRIMARY KEY,
        primary_key TEXT NOT NULL,
        name TEXT NOT NULL,
        size INTEGER NOT NULL
    );
    """,
    # every stash id a record carries (its own, the ids it states elsewhere, merged ones), so
    # an identity is found by any of them in one index lookup
    """
    CREATE TABLE record_ids (
        endpoint TEXT NOT NULL,
        stash_id TEXT NOT NULL,
        key TEXT NOT NULL
    );
    CREATE INDEX record_ids_id ON record_ids(endpoint, stash_id);
    CREATE INDEX records_performer ON records(performer_id);
    INSERT INTO record_ids
        SELECT endpoint, source_id, key FROM records WHERE source_id NOT LIKE 'db:%';
    INSERT INTO record_ids
        SELECT json_extract(j.value, '$[0]'), json_extract(j.value, '$[1]'), r.key
        FROM records r, json_each(r.stash_ids) j;
    """,
    # what an incremental relink compares and looks up: each record's content fingerprint (an
    # empty one is never equal, so a file from before is relinked whole once) and its blocking
    # keys (ids, URLs, name keys)
    """
    ALTER TABLE records ADD COLUMN fingerprint TEXT NOT NULL DEFAULT '';
    CREATE TABLE buckets (
        bucket TEXT NOT NULL,
        key TEXT NOT NULL
    );
    CREATE INDEX buckets_bucket ON buckets(bucket);
    CREATE INDEX buckets_key ON buckets(key);
    """,
)


class GraphError(Exception):
    """The graph file cannot be opened, read or written, or is from a newer stash-sense."""


P = ParamSpec("P")
R = TypeVar("R")


def graph_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Let SQLite's errors out as one GraphError line (a full disk, a damaged file)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except sqlite3.Error as err:
            raise GraphError(f"the identity graph file: {err}") from None

    return wrapper


def open_graph(path: Path) -> sqlite3.Connection:
    """Open (creating) a graph file and bring it to the current schema version."""
    try:
        conn = sqlite3.connect(path, isolation_level=None, timeout=30.0)
        conn.execute("PRAGMA journal_mode=WAL")
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.Error as err:
        raise GraphError(f"cannot open {path}: {err}") from None
    if version > len(MIGRATIONS):
        conn.close()
        raise GraphError(
            f"{path} has graph schema version {version}; this stash-sense knows up to "
            f"{len(MIGRATIONS)}: update stash-sense or run `db graph build` into another folder"
        )
    for number in range(version, len(MIGRATIONS)):
        # one script, one transaction: a migration and its version number land together
        conn.executescript(
            f"BEGIN; {MIGRATIONS[number]}; PRAGMA user_version = {number + 1}; COMMIT;"
        )
    return conn


def write_graph(
    conn: sqlite3.Connection,
    records: list[SourceRecord],
    identity_of: dict[str, str],
    links: list[Link],
    identities: list[tuple[str, str, str, int]],
    skipped: dict[str, list[str]],
    buckets: list[tuple[str, str]],
    rebucketed: set[str] | None = None,
) -> None:
    """Replace the graph's content with a new build, in one transaction. `buckets` are the
    blocking keys of the records in `rebucketed` (every record when None); the other records'
    stored keys stay (an incremental relink recomputes only what changed)."""
    conn.execute("BEGIN")
    try:
        for table in ("records", "links", "identities", "record_ids"):
            conn.execute(f"DELETE FROM {table}")
        if rebucketed is None:
            conn.execute("DELETE FROM buckets")
        else:
            conn.executemany("DELETE FROM buckets WHERE key = ?", [(k,) for k in rebucketed])
        conn.executemany("INSERT INTO buckets VALUES (?, ?)", buckets)
        conn.executemany(
            "INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    r.key,
                    r.endpoint,
                    r.source_id,
                    r.name,
                    json.dumps(kept_aliases(r), ensure_ascii=False),
                    r.country,
                    r.birthdate,
                    json.dumps(kept_urls(r)),
                    r.image_count,
                    r.performer_id,
                    identity_of[r.key],
                    json.dumps(skipped.get(r.key, []), ensure_ascii=False),
                    json.dumps(sorted({*r.same_as, *r.merged_ids})),
                    r.face_count,
                    fingerprint(r),
                )
                for r in records
            ],
        )
        conn.executemany("INSERT INTO record_ids VALUES (?, ?, ?)", record_ids(records))
        conn.executemany(
            "INSERT INTO links VALUES (?, ?, ?, ?, ?, ?)",
            [
                (lk.a, lk.b, lk.score, lk.status.value, lk.reason, _evidence_json(lk.evidence))
                for lk in links
            ],
        )
        conn.executemany("INSERT INTO identities VALUES (?, ?, ?, ?)", identities)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def fingerprint(rec: SourceRecord) -> str:
    """A hash of everything linking reads of a record (metadata, stated ids, face vectors): equal
    fingerprints, equal links."""
    digest = hashlib.sha1(
        json.dumps(
            [
                rec.name,
                rec.aliases,
                rec.country,
                rec.birthdate,
                rec.urls,
                rec.image_count,
                rec.performer_id,
                sorted(rec.same_as),
                sorted(rec.merged_ids),
            ],
            ensure_ascii=False,
        ).encode()
    )
    for name in sorted(rec.faces):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(rec.faces[name], np.float32).tobytes())
    return digest.hexdigest()


def record_ids(records: list[SourceRecord]) -> list[tuple[str, str, str]]:
    """(endpoint, stash id, record key) for every stash id each record carries."""
    out: list[tuple[str, str, str]] = []
    for r in records:
        own = [] if r.source_id.startswith("db:") else [(r.endpoint, r.source_id)]
        out += [(ep, sid, r.key) for ep, sid in dict.fromkeys([*own, *r.same_as, *r.merged_ids])]
    return out


def _evidence_json(evidence: list[Evidence]) -> str:
    return json.dumps(
        [{"kind": e.kind.value, "weight": e.weight, "detail": e.detail} for e in evidence]
    )


def read_links(
    conn: sqlite3.Connection, where: str = "", params: tuple[str, ...] = ()
) -> list[Link]:
    """Links of the graph file (`where`: an SQL condition on a, b, status), strongest first."""
    sql = "SELECT a, b, score, status, reason, evidence FROM links"
    rows = conn.execute(
        f"{sql} {'WHERE ' + where if where else ''} ORDER BY score DESC, a, b", params
    )
    return [
        Link(
            a,
            b,
            [
                Evidence(Kind(e["kind"]), float(e["weight"]), str(e["detail"]))
                for e in json.loads(ev)
            ],
            float(score),
            Status(status),
            reason,
        )
        for a, b, score, status, reason, ev in rows
    ]
