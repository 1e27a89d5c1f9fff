"""The builder's crawl bookkeeping in the staging database: its resume state (key/value), the
ledger of images that failed for now and wait for a retry, and what each source contributed.

The builder alone uses it, as `DatabaseWriter.crawl`; it is never published in a release.
"""

from __future__ import annotations

from typing import Any

from stash_sense.database.staging import Staged


class CrawlLedger(Staged):
    """Resume state and retry ledger of the builder (`DatabaseWriter.crawl`)."""

    def record_pending(
        self, source: str, source_image: str, performer_id: int, reason: str, run: str
    ) -> int:
        """An image failed for now (5xx, timeout, reset, 429): try it again later. Returns in
        how many distinct runs it has failed so far."""
        self._conn.execute(
            "INSERT INTO pending_images(source_image, source, performer_id, reason, tries, runs, "
            "last_run) VALUES (?, ?, ?, ?, 1, 1, ?) ON CONFLICT(source_image) DO UPDATE SET "
            "reason = excluded.reason, performer_id = excluded.performer_id, tries = tries + 1, "
            "runs = runs + (last_run IS NOT excluded.last_run), last_run = excluded.last_run",
            (source_image, source, performer_id, reason, run),
        )
        row = self._conn.execute(
            "SELECT runs FROM pending_images WHERE source_image = ?", (source_image,)
        ).fetchone()
        return int(row[0])

    def clear_pending(self, source_image: str) -> None:
        self._conn.execute("DELETE FROM pending_images WHERE source_image = ?", (source_image,))

    def pending_images(self, source: str) -> list[tuple[str, int]]:
        """(image, performer id) of the source's images waiting for a retry."""
        rows = self._conn.execute(
            "SELECT source_image, performer_id FROM pending_images WHERE source = ? "
            "AND performer_id IS NOT NULL ORDER BY rowid",
            (source,),
        )
        return [(str(url), int(pid)) for url, pid in rows]

    def source_stats(self, source: str, endpoint: str) -> dict[str, Any]:
        """What the database holds from one source, counted from the rows themselves (so a
        build killed and resumed reports exactly what a clean build reports)."""

        def one(sql: str, *args: str) -> int:
            return int(self._conn.execute(sql, args).fetchone()[0])

        live_faces = (
            "FROM faces f JOIN performers p ON p.id = f.performer_id "
            "WHERE f.source = ? AND p.deleted = 0"
        )
        performers = one(
            "SELECT count(DISTINCT p.id) FROM performers p JOIN stash_ids s "
            "ON s.performer_id = p.id WHERE s.endpoint = ? AND p.deleted = 0",
            endpoint,
        )
        with_faces = one(f"SELECT count(DISTINCT f.performer_id) {live_faces}", source)
        faces = one(f"SELECT count(*) {live_faces}", source)
        skipped = {
            str(reason): int(n)
            for reason, n in self._conn.execute(
                "SELECT reason, count(*) FROM skipped_images WHERE source = ? GROUP BY reason "
                "ORDER BY reason",
                (source,),
            )
        }
        return {
            "performers_seen": performers,
            "with_faces": with_faces,
            "faces": faces,
            "faces_per_performer": round(faces / with_faces, 3) if with_faces else 0.0,
            "images_seen": one("SELECT count(*) FROM faces WHERE source = ?", source)
            + sum(skipped.values()),
            "deleted": one(
                "SELECT count(DISTINCT p.id) FROM performers p JOIN stash_ids s "
                "ON s.performer_id = p.id WHERE s.endpoint = ? AND p.deleted = 1",
                endpoint,
            ),
            "merged": one("SELECT count(*) FROM merged_stash_ids WHERE endpoint = ?", endpoint),
            "pending": one("SELECT count(*) FROM pending_images WHERE source = ?", source),
            "skipped": skipped,
        }

    def set_state(self, key: str, value: str) -> None:
        self._conn.execute(
            "INSERT INTO state(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def get_state(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])
