"""Merging published databases of several sources into one staging area, vectors copied as they are.

Performers are linked across sources by an explicit (endpoint, stash_id) only; a performer with
no stash id is linked only to the performer that already owns one of its images (a re-run).
"""

from __future__ import annotations

from dataclasses import dataclass

from stash_sense.database.errors import DatabaseError
from stash_sense.database.reader import FaceDatabase
from stash_sense.database.records import EmbedderInfo, PerformerRecord
from stash_sense.database.writer import DatabaseWriter


@dataclass
class MergeStats:
    performers: int = 0
    faces_added: int = 0
    faces_present: int = 0
    skips: int = 0


def same_models(dbs: list[FaceDatabase]) -> list[EmbedderInfo]:
    """The models every database was made with; DatabaseError when they differ."""
    first = dbs[0].manifest.models
    for db in dbs[1:]:
        if db.manifest.models != first:
            a = ", ".join(m.describe() for m in first.values())
            b = ", ".join(m.describe() for m in db.manifest.models.values())
            raise DatabaseError(
                f"cannot merge databases made with different models: {dbs[0].path} has {a}; "
                f"{db.path} has {b}"
            )
    return list(first.values())


def merge_database(writer: DatabaseWriter, src: FaceDatabase, batch: int = 100) -> MergeStats:
    """Copy every performer, face (with its stored vectors) and skip of `src` into `writer`."""
    stats = MergeStats()
    names = [e.name for e in writer.embedders]
    rows = src.query(
        "SELECT id, name, disambiguation, gender, country, birthdate, primary_source, deleted "
        "FROM performers ORDER BY id"
    )
    for start in range(0, len(rows), batch):
        with writer.transaction():
            for row in rows[start : start + batch]:
                _copy_performer(writer, src, row, names, stats)
    with writer.transaction():
        for image, source, reason in src.query(
            "SELECT source_image, source, reason FROM skipped_images ORDER BY source_image"
        ):
            if not writer.has_image(image):
                writer.record_skip(source, image, None, reason)
                stats.skips += 1
    return stats


def _copy_performer(
    writer: DatabaseWriter,
    src: FaceDatabase,
    row: tuple[object, ...],
    names: list[str],
    stats: MergeStats,
) -> None:
    pid_src = int(str(row[0]))
    one = src.performers([pid_src])[pid_src]
    rec = PerformerRecord(
        name=str(row[1]),
        disambiguation=one.disambiguation,
        aliases=list(one.aliases),
        gender=one.gender,
        country=one.country,
        birthdate=one.birthdate,
        image_urls=[
            u
            for (u,) in src.query(
                "SELECT url FROM image_urls WHERE performer_id = ? ORDER BY position", (pid_src,)
            )
        ],
        stash_ids=[(s["endpoint"], s["stash_id"]) for s in one.stash_ids],
        urls=[
            (u, s)
            for u, s in src.query(
                "SELECT url, site FROM external_urls WHERE performer_id = ?", (pid_src,)
            )
        ],
        primary_source=None if row[6] is None else str(row[6]),
        deleted=bool(row[7]),
    )
    faces = src.query(
        "SELECT id, source, source_image, face_index, box_x, box_y, box_w, box_h, "
        "detection_score, quality FROM faces WHERE performer_id = ? ORDER BY id",
        (pid_src,),
    )
    pid: int | None = None
    if rec.stash_ids:
        pid = writer.upsert_performer(rec, rec.primary_source or "merge")
    else:
        for face in faces:
            pid = writer.performer_of_image(str(face[2]))
            if pid is not None:
                break
        pid = writer.upsert_performer(rec, rec.primary_source or "merge", into=pid, by_name=False)
    stats.performers += 1
    for face in faces:
        vectors = {
            str(name): bytes(vec)
            for name, vec in src.query(
                "SELECT embedder, vector FROM embeddings WHERE face_id = ?", (face[0],)
            )
            if name in names
        }
        added = writer.add_face_vectors(
            pid,
            str(face[1]),
            str(face[2]),
            int(str(face[3])),
            [float(str(v)) for v in face[4:8]],
            float(str(face[8])),
            str(face[9]),
            vectors,
        )
        if added is None:
            stats.faces_present += 1
        else:
            stats.faces_added += 1
