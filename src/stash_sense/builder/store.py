"""The builder's writing steps, one job each: a performer's record, the merges it reports, a
removal, and each image's outcome (a face, a permanent skip, or a retry in the ledger)."""

from __future__ import annotations

import logging

from stash_sense.builder.images import ImageOutcome
from stash_sense.database import DatabaseWriter, PerformerRecord
from stash_sense.sources.endpoints import EndpointConfig
from stash_sense.sources.http import is_transient
from stash_sense.sources.types import SourcePerformer

log = logging.getLogger("stash_sense.builder")

OVER_IMAGE_CAP = "over_image_cap"


def performer_record(p: SourcePerformer, endpoint: EndpointConfig) -> PerformerRecord:
    cap = endpoint.max_images_per_performer
    return PerformerRecord(
        name=p.name,
        disambiguation=p.disambiguation,
        aliases=list(p.aliases),
        gender=p.gender,
        country=p.country,
        birthdate=p.birthdate,
        image_urls=[i.url for i in p.images[:cap]],
        stash_ids=[(endpoint.stash_id_endpoint, p.id), *p.other_stash_ids],
        urls=list(p.urls),
        primary_source=endpoint.name,
        deleted=False,
    )


class PerformerStore:
    """Writes what the source said into the database; call inside the batch's transaction."""

    def __init__(
        self, writer: DatabaseWriter, endpoint: EndpointConfig, run: str, give_up_runs: int
    ) -> None:
        self.writer = writer
        self.endpoint = endpoint
        self.run = run  # an id of this run: the ledger counts the runs an image failed in
        self.give_up_runs = give_up_runs

    def stored(self, stash_id: str) -> int | None:
        probe = PerformerRecord(name="?", stash_ids=[(self.endpoint.stash_id_endpoint, stash_id)])
        return self.writer.find_performer(probe)

    def upsert(self, p: SourcePerformer) -> int:
        """The performer's record, its aliases and URLs the source's current ones (what it no
        longer lists goes, unless another source lists it); images over the cap are recorded
        as skipped."""
        rec = performer_record(p, self.endpoint)
        pid = self.writer.upsert_performer(rec, self.endpoint.name, current=True)
        self.writer.hold(pid, self.endpoint.name, p.id)
        for image in p.images[self.endpoint.max_images_per_performer :]:
            if not self.writer.has_image(image.url):
                self.writer.record_skip(self.endpoint.name, image.url, pid, OVER_IMAGE_CAP)
        return pid

    def follow_merges(self, p: SourcePerformer, pid: int) -> None:
        """Ids merged into this performer upstream stay searchable, mapped to it."""
        for old in p.merged_ids:
            if self.writer.merge_into(
                self.endpoint.stash_id_endpoint, old, pid, self.endpoint.name
            ):
                log.info("%s: %s was merged into %s", self.endpoint.name, old, p.id)

    def remove(self, p: SourcePerformer) -> None:
        """A performer deleted upstream (or unknown there), or merged into one that is stored:
        fold it in. A deletion removes only this source's claim on the row; the row is marked
        deleted only when no other source holds it (`DatabaseWriter.drop_claim`)."""
        endpoint, name = self.endpoint.stash_id_endpoint, self.endpoint.name
        survivor = self.stored(p.merged_into) if p.merged_into else None
        if survivor is not None:
            self.writer.merge_into(endpoint, p.id, survivor, name)
            return
        dropped = self.writer.drop_claim(endpoint, p.id, name)
        if dropped == "deleted":
            log.info("%s: %s was deleted upstream", name, p.id)
        elif dropped == "released":
            log.info("%s: %s is not known there: its record left the performer", name, p.id)

    def outcome(self, pid: int, outcome: ImageOutcome) -> int:
        """Store one image's outcome; return the faces stored (0 or 1)."""
        w, source = self.writer, self.endpoint.name
        if outcome.face is not None:
            self.writer.crawl.clear_pending(outcome.url)
            return 1 if w.add_face(pid, source, outcome.url, outcome.face, 0) is not None else 0
        reason = outcome.skip_reason or "skipped"
        if outcome.detail:
            log.debug("%s: %s", source, outcome.detail)
        if not is_transient(reason):
            w.record_skip(source, outcome.url, pid, reason)
            return 0
        runs = self.writer.crawl.record_pending(source, outcome.url, pid, reason, self.run)
        if runs >= self.give_up_runs:  # failed in that many separate runs: call it permanent
            log.warning(
                "%s: %s still fails (%s) after %d runs: skipped", source, outcome.url, reason, runs
            )
            w.record_skip(source, outcome.url, pid, reason)
        return 0
