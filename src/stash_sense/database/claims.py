"""Which sources hold a performer row, and taking one source's claim off a row others share
(ThePornDB's record stating a StashDB id lives on StashDB's row): the SQL steps behind
`DatabaseWriter.drop_claim` and a merge that keeps another source's record; inside the caller's
transaction."""

from __future__ import annotations

import sqlite3

#: the tables of a performer's images, each row tagged with the source that fetched it
IMAGE_TABLES = ("faces", "skipped_images", "pending_images")


def holders(conn: sqlite3.Connection, pid: int) -> set[str]:
    """The sources that hold a performer: its first writer, the sources of its records (kind
    `record` in `list_sources`), of its listed aliases and URLs, faces, skips and retries (so a
    row written before records were kept counts its sources too)."""
    rows = conn.execute(
        "SELECT primary_source FROM performers WHERE id = :p UNION "
        "SELECT source FROM list_sources WHERE performer_id = :p UNION "
        + " UNION ".join(f"SELECT source FROM {t} WHERE performer_id = :p" for t in IMAGE_TABLES),
        {"p": pid},
    )
    return {str(r[0]) for r in rows if r[0] is not None}


def own_ids(conn: sqlite3.Connection, pid: int, endpoint: str) -> list[str]:
    """The performer's ids on `endpoint`, merged-away ones left out."""
    rows = conn.execute(
        "SELECT stash_id FROM stash_ids s WHERE performer_id = ? AND endpoint = ? AND NOT "
        "EXISTS (SELECT 1 FROM merged_stash_ids m WHERE m.endpoint = s.endpoint AND "
        "m.stash_id = s.stash_id)",
        (pid, endpoint),
    )
    return [str(r[0]) for r in rows]


def forget_id(
    conn: sqlite3.Connection, pid: int, endpoint: str, stash_id: str, source: str
) -> None:
    """The id leaves the performer, and with it `source`'s record under that id."""
    conn.execute(
        "DELETE FROM stash_ids WHERE performer_id = ? AND endpoint = ? AND stash_id = ?",
        (pid, endpoint, stash_id),
    )
    conn.execute(
        "DELETE FROM list_sources WHERE performer_id = ? AND kind = 'record' AND value = ? "
        "AND source = ?",
        (pid, stash_id, source),
    )


def forget_source(conn: sqlite3.Connection, pid: int, endpoint: str, source: str) -> None:
    """What `source` gave the performer: its merged-away ids, the image URLs only its images
    have, its faces, skips and retries, its list entries (the aliases and URLs only it listed
    are dropped by the caller first, `PerformerWrites._restate`)."""
    conn.execute(
        "DELETE FROM stash_ids WHERE performer_id = ? AND endpoint = ? AND stash_id IN "
        "(SELECT stash_id FROM merged_stash_ids WHERE endpoint = ? AND performer_id = ?)",
        (pid, endpoint, endpoint, pid),
    )
    conn.execute(
        "DELETE FROM merged_stash_ids WHERE endpoint = ? AND performer_id = ?", (endpoint, pid)
    )
    conn.execute(
        f"DELETE FROM image_urls WHERE performer_id = :p AND url IN ({_images('=')}) "
        f"AND url NOT IN ({_images('!=')})",
        {"p": pid, "s": source},
    )
    for table in IMAGE_TABLES:
        conn.execute(f"DELETE FROM {table} WHERE performer_id = ? AND source = ?", (pid, source))
    conn.execute("DELETE FROM list_sources WHERE performer_id = ? AND source = ?", (pid, source))


def hand_over(conn: sqlite3.Connection, old: int, survivor: int, source: str) -> None:
    """`source` merged the performer `old` into `survivor`: the other sources' images (faces,
    skips, retries and their image URLs), list entries and the aliases and URLs they list move
    to the survivor; what stays on `old` is left for the merge to drop."""
    moved = {"old": old, "new": survivor, "s": source}
    conn.execute(
        "INSERT OR IGNORE INTO image_urls(performer_id, url, position) SELECT :new, url, "
        f"position FROM image_urls WHERE performer_id = :old AND url IN ({_images('!=', 'old')})",
        moved,
    )
    for table, column in (("aliases", "alias"), ("external_urls", "url")):
        kind = "alias" if table == "aliases" else "url"
        extra = ", site" if table == "external_urls" else ""
        conn.execute(
            f"INSERT OR IGNORE INTO {table}(performer_id, {column}{extra}) SELECT :new, "
            f"{column}{extra} FROM {table} WHERE performer_id = :old AND {column} IN (SELECT "
            f"value FROM list_sources WHERE performer_id = :old AND kind = '{kind}' AND "
            "source != :s)",
            moved,
        )
    for table in (*IMAGE_TABLES, "list_sources"):
        conn.execute(
            f"UPDATE OR IGNORE {table} SET performer_id = :new WHERE performer_id = :old "
            "AND source != :s",
            moved,
        )


def _images(op: str, pid: str = "p") -> str:
    """The image URLs of a performer's images whose source is (`=`) or is not (`!=`) `:s`."""
    return " UNION ".join(
        f"SELECT source_image FROM {t} WHERE performer_id = :{pid} AND source {op} :s"
        for t in IMAGE_TABLES
    )
