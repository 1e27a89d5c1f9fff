"""Enrol a folder of photos (one subfolder per performer) into a face database and publish."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from stash_sense.app.errors import InvalidInput
from stash_sense.net import sha256_file

if TYPE_CHECKING:
    from stash_sense.faces import FaceEngine

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"})
ENROLL_SOURCE = "enroll"


@dataclass
class EnrollResult:
    """What one enrolment did."""

    folders: int
    images: int
    added: int = 0
    present: int = 0  # images enrolled before (by content), not looked at again
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> images
    published: Path | None = None  # the new generation, or None when nothing changed


def file_key(path: Path) -> str:
    """How an enrolled image is remembered: by content, so re-runs and moved folders add nothing."""
    return f"sha256:{sha256_file(path)}"


def performer_folders(src: Path) -> list[tuple[Path, list[Path]]]:
    """(folder, its images) for every performer folder of `src`, sorted by name."""
    folders = []
    for folder in sorted(p for p in src.iterdir() if p.is_dir() and not p.name.startswith(".")):
        images = sorted(
            p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
        )
        folders.append((folder, images))
    return folders


def enroll_folder(
    src: Path,
    db: Path,
    engine: FaceEngine | None = None,
    on_image: Callable[[int, int], None] | None = None,
    max_image_bytes: int | None = None,
) -> EnrollResult:
    """Add the performers of `src` (`<performer name>/<images>`) to the database at `db`, one
    face per image (the largest that `faces.quality.enrollable` accepts), and publish a new
    generation when anything was added.

    `on_image(done, total)` is called after every image; files larger than `max_image_bytes`
    (default: faces.imageio's limit) are skipped as unreadable. Raises InvalidInput for a bad `src`
    and DatabaseError for a database that cannot be written.
    """
    from stash_sense.database import DatabaseWriter, EmbedderInfo, PerformerRecord, database_models
    from stash_sense.database.layout import current_generation
    from stash_sense.faces import FaceEngine, ImageError, load_image
    from stash_sense.faces.quality import enrollable

    if not src.is_dir():
        raise InvalidInput(f"{src} is not a folder")
    folders = performer_folders(src)
    if not folders:
        raise InvalidInput(
            f"{src} holds no performer folders (expected SRC/<performer name>/<images>)"
        )
    engine = engine or FaceEngine.for_database(database_models(db))
    infos = [EmbedderInfo.from_embedder(e) for e in engine.embedders]
    result = EnrollResult(folders=len(folders), images=sum(len(i) for _, i in folders))
    done = 0
    with DatabaseWriter.open(db, infos) as writer:
        for folder, images in folders:
            with writer.transaction():
                pid = writer.upsert_performer(PerformerRecord(name=folder.name), ENROLL_SOURCE)
                for image in images:
                    done += 1
                    if on_image is not None:
                        on_image(done, result.images)
                    key = file_key(image)
                    if writer.has_image(key):
                        result.present += 1
                        continue
                    try:
                        faces = engine.analyze(load_image(image, max_bytes=max_image_bytes))
                    except ImageError:
                        faces, reason = [], "unreadable"
                    else:
                        reason = "no_face" if not faces else "no_usable_face"
                    kept = [f for f in faces if enrollable(f.quality)]
                    if not kept:
                        writer.record_skip(ENROLL_SOURCE, key, pid, reason)
                        result.skipped[reason] = result.skipped.get(reason, 0) + 1
                        continue
                    if writer.add_face(pid, ENROLL_SOURCE, key, kept[0]) is not None:
                        result.added += 1
        if result.added or current_generation(db) is None:
            result.published = writer.publish()
    return result
