"""The stand-ins' data: performers made from a folder of per-performer image folders.

`FACES/<Name>/<k>.jpg` becomes a performer named "Name" (underscores read as spaces) with a
stable UUID derived from the name, one image per file, and creation times in name order, so a
stand-in restarted over the same folder serves the same ids. `replicate_to` repeats the folders
("Name 2", "Name 3", ...) to serve many performers from few pictures; `images_per_performer` caps
what each lists; `equal_created` gives that many performers in a row one creation time. Edits
(update of name, aliases, disambiguation, gender, country or urls: the profile URLs, by default
one example.org page per performer; destroy, merge, create) change it the way stash-box applies them
(internal/service/edit/performer.go): destroy and merge soft-delete (`SoftDelete` drops the
performer's images, aliases and URLs; the row stays, `deleted`), a merge records the source in the
target's `merged_ids` and the target in the source's `merged_into_id`.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

NAMESPACE = uuid.UUID("6f1c1e4e-6b1a-4c7e-9d55-2f3b8a1d0c42")
EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}


def stable_id(kind: str, key: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{key}"))


def iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class CatalogImage:
    id: str
    path: Path | None  # a file to serve, or None for the synthetic bad-input images
    route: str  # path on the server, e.g. /images/<id>
    width: int = 250
    height: int = 250


@dataclass
class CatalogPerformer:
    id: str
    name: str
    images: list[CatalogImage]
    created: datetime
    updated: datetime
    aliases: list[str] = field(default_factory=list)
    disambiguation: str | None = None
    gender: str | None = None
    country: str | None = None
    birth_date: str | None = None
    deleted: bool = False
    merged_ids: list[str] = field(default_factory=list)
    merged_into_id: str | None = None
    #: the profile URLs it lists; None: the stand-in's default one (example.org/<name>)
    urls: list[str] | None = None


@dataclass
class CatalogEdit:
    id: str
    operation: str  # DESTROY | MERGE
    target_id: str
    closed: datetime
    merge_source_ids: list[str] = field(default_factory=list)


class Catalog:
    """Performers in creation order, images by id, and the applied edits; thread-safe."""

    def __init__(self) -> None:
        self.performers: list[CatalogPerformer] = []
        self.by_id: dict[str, CatalogPerformer] = {}
        self.images: dict[str, CatalogImage] = {}
        self.edits: list[CatalogEdit] = []
        self.folders: dict[str, list[Path]] = {}
        self.lock = threading.RLock()

    # -- building ---------------------------------------------------------------------------

    @classmethod
    def from_faces_dir(
        cls,
        faces_dir: Path | None,
        *,
        replicate_to: int | None = None,
        images_per_performer: int | None = None,
        equal_created: int = 1,
    ) -> Catalog:
        catalog = cls()
        if faces_dir is not None:
            if not faces_dir.is_dir():
                raise FileNotFoundError(f"faces folder not found: {faces_dir}")
            for folder in sorted(p for p in faces_dir.iterdir() if p.is_dir()):
                files = sorted(f for f in folder.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
                if files:
                    catalog.folders[folder.name] = files
        names = list(catalog.folders)
        total = replicate_to if replicate_to is not None else len(names)
        for i in range(total if names else 0):
            key = names[i % len(names)]
            copy = i // len(names)
            name = key.replace("_", " ") + (f" {copy + 1}" if copy else "")
            files = catalog.folders[key][:images_per_performer]
            when = EPOCH + timedelta(minutes=i // max(1, equal_created))
            catalog.add_performer(name, files, when=when)
        return catalog

    def add_performer(
        self, name: str, files: list[Path], *, when: datetime | None = None
    ) -> CatalogPerformer:
        with self.lock:
            pid = stable_id("performer", name)
            created = when or EPOCH + timedelta(minutes=len(self.performers))
            images = []
            for f in files:
                image_id = stable_id("image", f"{name}/{f.name}")
                images.append(self.add_image(image_id, f, f"/images/{image_id}"))
            performer = CatalogPerformer(
                id=pid, name=name, images=images, created=created, updated=created
            )
            self.performers.append(performer)
            self.by_id[pid] = performer
            return performer

    def add_image(self, image_id: str, path: Path | None, route: str) -> CatalogImage:
        image = CatalogImage(id=image_id, path=path, route=route)
        self.images[image_id] = image
        return image

    # -- reading ----------------------------------------------------------------------------

    def live(self) -> list[CatalogPerformer]:
        return [p for p in self.performers if not p.deleted]

    # -- edits, the way stash-box applies them ---------------------------------------------

    def _now(self) -> datetime:
        # strictly increasing, so UPDATED_AT order is total even within one clock tick
        now = datetime.now(UTC)
        latest = max((p.updated for p in self.performers), default=EPOCH)
        return max(now, latest + timedelta(microseconds=1))

    def update(self, pid: str, changes: dict[str, object]) -> CatalogPerformer:
        with self.lock:
            performer = self.by_id[pid]
            for key, value in changes.items():
                if key not in {"name", "aliases", "disambiguation", "gender", "country", "urls"}:
                    raise ValueError(f"cannot edit {key!r}")
                setattr(performer, key, value)
            performer.updated = self._now()
            return performer

    def destroy(self, pid: str) -> CatalogEdit:
        with self.lock:
            performer = self.by_id[pid]
            now = self._now()
            _soft_delete(performer, now)
            edit = CatalogEdit(stable_id("edit", f"destroy:{pid}"), "DESTROY", pid, now)
            self.edits.append(edit)
            return edit

    def merge(self, source_ids: list[str], target_id: str) -> CatalogEdit:
        with self.lock:
            target = self.by_id[target_id]
            now = self._now()
            for sid in source_ids:
                source = self.by_id[sid]
                if source.deleted or target.deleted or sid == target_id:
                    raise ValueError("merge source and target must be distinct live performers")
                _soft_delete(source, now)
                source.merged_into_id = target_id
                target.merged_ids.append(sid)
            target.updated = now
            key = f"merge:{','.join(source_ids)}>{target_id}"
            edit = CatalogEdit(stable_id("edit", key), "MERGE", target_id, now, source_ids)
            self.edits.append(edit)
            return edit

    def create(self, name: str, folder: str) -> CatalogPerformer:
        with self.lock:
            if folder not in self.folders:
                raise ValueError(f"no such faces folder: {folder}")
            performer = self.add_performer(name, self.folders[folder], when=self._now())
            return performer


def _soft_delete(performer: CatalogPerformer, now: datetime) -> None:
    """stash-box's SoftDelete: the joins go, the row stays with `deleted` set."""
    performer.deleted = True
    performer.images = []
    performer.aliases = []
    performer.urls = []
    performer.updated = now
