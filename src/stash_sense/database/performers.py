"""The writer's performers: identity (by stash id, else by name), upserts whose lists grow (or,
for a source's current description, follow what that source lists now), and what sources report
about identity: a performer deleted, or merged into another."""

from __future__ import annotations

from stash_sense.database.claims import forget_id, forget_source, hand_over, holders, own_ids
from stash_sense.database.errors import DatabaseError
from stash_sense.database.records import PerformerRecord
from stash_sense.database.schema import stash_id_owner
from stash_sense.database.staging import NOW, Staged


class PerformerWrites(Staged):
    """Performer rows of the staging database (a part of `DatabaseWriter`)."""

    def find_performer(self, rec: PerformerRecord, by_name: bool = True) -> int | None:
        """The stored performer this record describes: by any stash id, else by name alone.

        The name is used only for a record without stash ids, and only when `by_name`.
        """
        for endpoint, stash_id in rec.stash_ids:
            pid = self._performer_of(endpoint, stash_id)
            if pid is not None:
                return pid
        if rec.stash_ids or not by_name:
            return None
        row = self._conn.execute(
            "SELECT id FROM performers p WHERE name = ? AND disambiguation IS ? AND NOT EXISTS "
            "(SELECT 1 FROM stash_ids s WHERE s.performer_id = p.id) ORDER BY id LIMIT 1",
            (rec.name, rec.disambiguation),
        ).fetchone()
        return None if row is None else int(row[0])

    def upsert_performer(
        self,
        rec: PerformerRecord,
        source: str,
        *,
        into: int | None = None,
        by_name: bool = True,
        current: bool = False,
    ) -> int:
        """Insert or update a performer and return its id; lists (aliases, ids, urls) grow.

        `into` names the stored performer to update instead of looking one up; `by_name=False`
        never links a record without stash ids to a namesake (merging sources). `current`: the
        record is what `source` lists now, so an alias or URL `source` listed before and no
        longer does goes, unless another source still lists it (see `_restate`).
        """
        if not rec.name.strip():
            raise DatabaseError("a performer needs a name")
        with self.transaction():
            pid = into if into is not None else self.find_performer(rec, by_name)
            fields = (
                rec.name,
                rec.disambiguation,
                rec.gender,
                rec.country,
                rec.birthdate,
                rec.primary_source or source,
                int(rec.deleted),
            )
            if pid is None:
                cur = self._conn.execute(
                    "INSERT INTO performers(name, disambiguation, gender, country, birthdate, "
                    "primary_source, deleted) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    fields,
                )
                pid = int(cur.lastrowid or 0)
            else:
                self._conn.execute(
                    "UPDATE performers SET name = ?, disambiguation = coalesce(?, disambiguation), "
                    "gender = coalesce(?, gender), country = coalesce(?, country), "
                    "birthdate = coalesce(?, birthdate), "
                    "primary_source = coalesce(primary_source, ?), deleted = ?, "
                    f"updated_at = {NOW} WHERE id = ?",
                    (*fields, pid),
                )
            self._conn.executemany(
                "INSERT OR IGNORE INTO aliases(performer_id, alias) VALUES (?, ?)",
                [(pid, a) for a in rec.aliases if a and a != rec.name],
            )
            self._conn.executemany(
                "INSERT OR IGNORE INTO stash_ids(performer_id, endpoint, stash_id) "
                "VALUES (?, ?, ?)",
                [(pid, ep, sid) for ep, sid in rec.stash_ids],
            )
            self._conn.executemany(
                "INSERT OR IGNORE INTO image_urls(performer_id, url, position) VALUES (?, ?, ?)",
                [(pid, url, i) for i, url in enumerate(rec.image_urls)],
            )
            self._conn.executemany(
                "INSERT OR IGNORE INTO external_urls(performer_id, url, site) VALUES (?, ?, ?)",
                [(pid, url, site) for url, site in rec.urls],
            )
            if current:
                self._restate(pid, source, rec)
        return pid

    def _restate(self, pid: int, source: str, rec: PerformerRecord) -> None:
        """Record which aliases and URLs `source` lists for the performer now; drop those it
        listed before and no longer does, unless another source lists them too. Entries stored
        without a source (enrolled, merged, or written before sources were recorded) stay."""
        now = {("alias", a) for a in rec.aliases if a and a != rec.name}
        now |= {("url", url) for url, _ in rec.urls}
        before = set(
            self._conn.execute(
                "SELECT kind, value FROM list_sources WHERE performer_id = ? AND source = ? "
                "AND kind IN ('alias', 'url')",
                (pid, source),
            )
        )
        gone = sorted(before - now)
        self._conn.executemany(
            "DELETE FROM list_sources WHERE performer_id = ? AND source = ? AND kind = ? "
            "AND value = ?",
            [(pid, source, kind, value) for kind, value in gone],
        )
        self._conn.executemany(
            "INSERT OR IGNORE INTO list_sources(performer_id, kind, value, source) "
            "VALUES (?, ?, ?, ?)",
            [(pid, kind, value, source) for kind, value in sorted(now - before)],
        )
        for kind, value in gone:
            table, column = ("aliases", "alias") if kind == "alias" else ("external_urls", "url")
            self._conn.execute(
                f"DELETE FROM {table} WHERE performer_id = ? AND {column} = ? AND NOT EXISTS "
                "(SELECT 1 FROM list_sources WHERE performer_id = ? AND kind = ? AND value = ?)",
                (pid, value, pid, kind, value),
            )

    def hold(self, pid: int, source: str, stash_id: str) -> None:
        """`source`'s own record (its id `stash_id`) is on this performer: the source holds the
        row (`drop_claim`), kept in `list_sources` as kind `record`."""
        self._conn.execute(
            "INSERT OR IGNORE INTO list_sources(performer_id, kind, value, source) "
            "VALUES (?, 'record', ?, ?)",
            (pid, stash_id, source),
        )

    def drop_claim(self, endpoint: str, stash_id: str, source: str) -> str:
        """`source` (whose ids are on `endpoint`) no longer knows `stash_id`: remove its claim on
        the performer holding it, never another source's record.

        When no other source holds the row (`claims.holders`), it is marked deleted as before
        (`mark_deleted`): "deleted". Otherwise the id goes, and when `source` holds no other id
        of the row, so do its merged-away ids, faces, skips, retries, image URLs and the aliases
        and URLs only it listed: "released". "" when no live performer holds the id.
        """
        c = self._conn
        pid = self._performer_of(endpoint, stash_id)
        if pid is None or not self._live(pid) or stash_id not in own_ids(c, pid, endpoint):
            return ""  # unknown, deleted already, or an id merged away (the survivor's own)
        others = holders(c, pid) - {source}
        if not others:
            return "deleted" if self.mark_deleted(endpoint, stash_id) else ""
        with self.transaction():
            forget_id(c, pid, endpoint, stash_id, source)
            if not own_ids(c, pid, endpoint):
                self._restate(pid, source, PerformerRecord(name="?"))  # what only it listed goes
                forget_source(c, pid, endpoint, source)
                c.execute(
                    "UPDATE performers SET primary_source = ? WHERE id = ? AND primary_source = ?",
                    (min(others), pid, source),
                )
            self._conn.execute(f"UPDATE performers SET updated_at = {NOW} WHERE id = ?", (pid,))
        return "released"

    def _live(self, pid: int) -> bool:
        row = self._conn.execute("SELECT deleted FROM performers WHERE id = ?", (pid,)).fetchone()
        return row is not None and not row[0]

    def mark_deleted(self, endpoint: str, stash_id: str) -> bool:
        """The source deleted this performer: keep the row, leave it out of the next indices, and
        forget its images still waiting for a retry. True when a live performer was marked."""
        pid = self._performer_of(endpoint, stash_id)
        if pid is None:
            return False
        with self.transaction():
            cur = self._conn.execute(
                f"UPDATE performers SET deleted = 1, updated_at = {NOW} "
                "WHERE id = ? AND deleted = 0",
                (pid,),
            )
            self._conn.execute("DELETE FROM pending_images WHERE performer_id = ?", (pid,))
        return cur.rowcount > 0

    def merge_into(
        self, endpoint: str, old_stash_id: str, survivor: int, source: str | None = None
    ) -> bool:
        """The source merged `old` into the stored performer `survivor`.

        The old id stays searchable, mapped to the survivor (scenes in users' Stash may still
        carry it). A stored performer under the old id is folded in: its other stash ids move
        over; its faces, skips and retries go, as stash-box drops a merged performer's images.
        Given the merging `source`, only its own go: another source's record on the row (its
        faces, skips, retries, image URLs and what it lists) moves to the survivor.
        True when such a performer was folded in.
        """
        with self.transaction():
            old = self._performer_of(endpoint, old_stash_id)
            folded = old is not None and old != survivor
            if folded:
                assert old is not None
                if source is not None:
                    hand_over(self._conn, old, survivor, source)
                for table in ("faces", "skipped_images", "pending_images"):
                    self._conn.execute(f"DELETE FROM {table} WHERE performer_id = ?", (old,))
                for table in ("stash_ids", "merged_stash_ids"):
                    self._conn.execute(
                        f"UPDATE OR IGNORE {table} SET performer_id = ? WHERE performer_id = ?",
                        (survivor, old),
                    )
                self._conn.execute("DELETE FROM performers WHERE id = ?", (old,))
            self._conn.execute(
                "INSERT OR IGNORE INTO stash_ids(performer_id, endpoint, stash_id) "
                "VALUES (?, ?, ?)",
                (survivor, endpoint, old_stash_id),
            )
            self._conn.execute(
                "INSERT OR REPLACE INTO merged_stash_ids(endpoint, stash_id, performer_id) "
                "VALUES (?, ?, ?)",
                (endpoint, old_stash_id, survivor),
            )
        return folded

    def stored_stash_ids(self, endpoint: str) -> set[str]:
        """The endpoint's ids of live performers, merged-away ids left out."""
        rows = self._conn.execute(
            "SELECT s.stash_id FROM stash_ids s JOIN performers p ON p.id = s.performer_id "
            "WHERE s.endpoint = ? AND p.deleted = 0 AND NOT EXISTS (SELECT 1 FROM "
            "merged_stash_ids m WHERE m.endpoint = s.endpoint AND m.stash_id = s.stash_id)",
            (endpoint,),
        )
        return {str(r[0]) for r in rows}

    def performer_of_image(self, source_image: str) -> int | None:
        """The performer owning a stored face of this image, if any."""
        row = self._conn.execute(
            "SELECT performer_id FROM faces WHERE source_image = ? ORDER BY id LIMIT 1",
            (source_image,),
        ).fetchone()
        return None if row is None else int(row[0])

    def _performer_of(self, endpoint: str, stash_id: str) -> int | None:
        return stash_id_owner(self._conn, endpoint, stash_id)
