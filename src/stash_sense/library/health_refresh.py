"""The library health refresh: read every local Stash performer and its image (through the
scan's paced Stash client, which reads only from the configured Stash host), identify the image
with the face database, and find (a refresh re-reads only the performers Stash changed since
the last one, and new ones: library/health_cache.py)

- **link**: a local performer without a stash id for an endpoint whose image matches a database
  performer that has one, at tier "high" ("likely" ones are kept apart, never listed by
  default); applying adds every stash id of the database performer to the local one;
- **merge**: local performers that are one person: they share a stash id, or their images'
  first match is one database performer at "high", or their images' SFace vectors are within
  the database's "high" distance of each other, or faces of scenes they are tagged on are and
  name the same database performer at "high" (library/health_scenes.py). Never merged automatically.

Links and merges go by stash id or by face, never by name. Stash's placeholder image (an
`image_path` with `default=true`) is no face and is skipped.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from stash_sense.faces import ImageError, load_image
from stash_sense.library import health_cache as cache
from stash_sense.library.health_scenes import SceneFace, close_pairs, consistent
from stash_sense.library.store import LibraryStore
from stash_sense.matching.cascade import CascadeIdentifier
from stash_sense.matching.match import Match
from stash_sense.sources.stash import StashClient, StashError

#: a performer edited this recently (seconds) is read again by the next refresh (see _settled)
SETTLE_S = 2.0
#: the embedder whose vectors compare two local images (every database has it, the cascade's first)
PAIR_EMBEDDER = "sface"


@dataclass
class LocalPerformer:
    id: str
    name: str
    disambiguation: str | None
    image_url: str | None
    scene_count: int
    stash_ids: list[tuple[str, str]]
    vector: np.ndarray | None = None
    match: Match | None = None
    notes: list[str] = field(default_factory=list)

    def out(self) -> dict[str, Any]:
        ids = [{"endpoint": e, "stash_id": s} for e, s in self.stash_ids]
        return {"id": self.id, "name": self.name, "image_url": self.image_url,
                "scene_count": self.scene_count, "stash_ids": ids}  # fmt: skip


@dataclass
class Progress:
    done: int = 0
    total: int = 0  # performers to read this refresh (new or changed)
    failed: int = 0
    unchanged: int = 0  # performers kept from an earlier refresh, not read again


def read_performers(
    stash: StashClient,
    engine: Any,
    matcher: Any,
    progress: Progress,
    stop: threading.Event,
    store: LibraryStore,
    *,
    per_page: int = 1000,
    chunk: int = 100,
) -> list[LocalPerformer] | None:
    """Every local performer, its image identified (largest face); None when stopped early.

    Incremental: one cheap listing of every performer's id and `updated_at`, then only the
    performers new or changed since their kept row (or kept for another face database) are read
    and their images identified, each kept as soon as it is done (a stopped refresh keeps what it
    did); rows of performers Stash no longer lists are dropped (library/health_cache.py)."""
    key = cache.database_key(getattr(matcher, "db", None))
    stamps: dict[str, str] = {}
    page = 1
    while not stop.is_set():
        total, listed = stash.performer_stamps(page, per_page)
        stamps.update(listed)
        if len(listed) < per_page or len(stamps) >= total:
            break
        page += 1
    if stop.is_set():
        return None
    known = cache.known_stamps(store, key)
    todo = [pid for pid, stamp in stamps.items() if known.get(pid) != stamp]
    progress.total, progress.unchanged = len(todo), len(stamps) - len(todo)
    identifier = CascadeIdentifier(engine, matcher)
    for start in range(0, len(todo), chunk):
        for raw in stash.performers_by_ids(todo[start : start + chunk]):
            if stop.is_set():
                return None
            local = LocalPerformer(
                str(raw["id"]), str(raw["name"]), raw.get("disambiguation") or None,
                raw.get("image_path") or None, int(raw.get("scene_count") or 0),
                [(str(s["endpoint"]), str(s["stash_id"])) for s in raw.get("stash_ids") or []],
            )  # fmt: skip
            _identify(stash, identifier, local, progress)
            cache.put(store, local, _settled(str(raw.get("updated_at") or "")), key)
            progress.done += 1
    cache.drop(store, cache.all_ids(store) - set(stamps))
    return cache.performers(store, LocalPerformer)


def _settled(stamp: str, now: float | None = None) -> str:
    """The stamp to keep: "" (read again next time) for one within the last SETTLE_S seconds,
    since Stash keeps whole seconds and an edit later in that second would not change it."""
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return ""
    return stamp if (time.time() if now is None else now) - moment >= SETTLE_S else ""


def _identify(
    stash: StashClient, identifier: CascadeIdentifier, local: LocalPerformer, progress: Progress
) -> None:
    url = local.image_url
    if not url or "default=true" in url:
        return
    try:
        pixels = load_image(stash.fetch(url, max_bytes=16 * 1024 * 1024))
        faces = identifier.identify(pixels, top=3, max_faces=1)
    except (StashError, ImageError) as err:
        progress.failed += 1
        local.notes.append(f"image unreadable: {err}")
        return
    if not faces:
        return
    face, matches = faces[0]
    if PAIR_EMBEDDER in face.embeddings:
        vec = np.asarray(face.embeddings[PAIR_EMBEDDER], np.float32)
        local.vector = vec / max(float(np.linalg.norm(vec)), 1e-12)
    local.match = matches[0] if matches else None


def link_items(performers: list[LocalPerformer]) -> list[dict[str, Any]]:
    """A link per local performer whose image's first match is "high" or "likely" and has a
    stash id on an endpoint the local performer has none for (no other local performer holding
    that stash id already: that is a merge)."""
    held = {sid for p in performers for sid in p.stash_ids}
    items = []
    for p in performers:
        m = p.match
        if m is None or m.tier not in ("high", "likely"):
            continue
        endpoints = {e for e, _ in p.stash_ids}
        new = [(s["endpoint"], s["stash_id"]) for s in m.stash_ids
               if s["endpoint"] not in endpoints]  # fmt: skip
        if not new or any(sid in held for sid in new):
            continue
        ids = [{"endpoint": e, "stash_id": s} for e, s in [*p.stash_ids, *new]]
        items.append({
            "id": f"link:{p.id}:{new[0][0]}|{new[0][1]}", "kind": "link",
            "score": round(1.0 - float(m.distance), 4),
            "evidence": [f"{p.name}'s image matches {m.name} ({m.tier}, distance "
                         f"{m.distance:.3f})", f"adds {len(new)} stash id(s): "
                         + ", ".join(f"{e} {s}" for e, s in new)],
            "performer": {"id": p.id, "name": p.name, "image_url": p.image_url},
            "match": {"performer_id": m.performer_id, "name": m.name,
                      "disambiguation": m.disambiguation, "distance": round(m.distance, 4),
                      "tier": m.tier, "stash_ids": m.stash_ids, "image_url": m.image_url},
            "apply_stash_ids": ids,
        })  # fmt: skip
    return items


def merge_items(
    performers: list[LocalPerformer],
    high: float,
    scene_faces: dict[str, list[SceneFace]] | None = None,
) -> list[dict[str, Any]]:
    """Groups of local performers that are one person (see the module docstring; also their
    tagged scenes' faces, `scene_faces` from health_scenes.tagged_faces), each group once (the
    connected groups of the pairs found)."""
    reasons: dict[tuple[int, int], list[str]] = {}
    distances: dict[tuple[int, int], float] = {}
    by_sid: dict[tuple[str, str], list[int]] = {}
    by_match: dict[int, list[int]] = {}
    for i, p in enumerate(performers):
        for sid in p.stash_ids:
            by_sid.setdefault(sid, []).append(i)
        if p.match is not None and p.match.tier == "high":
            by_match.setdefault(p.match.performer_id, []).append(i)
    for (e, s), group in by_sid.items():
        for a, b in _pairs(group):
            reasons.setdefault((a, b), []).append(f"both linked to {e} {s}")
    for group in by_match.values():
        for a, b in _pairs(group):
            name = performers[a].match.name  # type: ignore[union-attr]
            reasons.setdefault((a, b), []).append(f"both images match {name} (high)")
    faced = [i for i, p in enumerate(performers) if p.vector is not None]
    if len(faced) > 1:
        vectors = np.stack([performers[i].vector for i in faced])  # type: ignore[misc]
        dist = 1.0 - vectors @ vectors.T
        for x, y in zip(*np.nonzero(np.triu(dist <= high, k=1)), strict=True):
            a, b = faced[int(x)], faced[int(y)]
            distances[(a, b)] = float(dist[x, y])
            reasons.setdefault((a, b), []).append(
                f"their images are {dist[x, y]:.3f} apart (high: {high:.2f} or closer)"
            )
    owners = [p.id for p in performers]
    faces = {p.id: consistent(scene_faces.get(p.id, []), p.stash_ids, _high_match(p))
             for p in performers} if scene_faces else {}  # fmt: skip
    for pair, (d, why) in close_pairs(owners, faces, high).items():
        distances[pair] = min(d, distances.get(pair, d))
        reasons.setdefault(pair, []).append(f"their tagged scenes' faces: {why}")
    return [_merge_item(performers, group, reasons, distances) for group in _groups(reasons)]


def _high_match(performer: LocalPerformer) -> int | None:
    match = performer.match
    return match.performer_id if match is not None and match.tier == "high" else None


def _pairs(group: list[int]) -> list[tuple[int, int]]:
    return [(a, b) for n, a in enumerate(group) for b in group[n + 1 :]]


def _groups(pairs: dict[tuple[int, int], list[str]]) -> list[list[int]]:
    parent: dict[int, int] = {}

    def root(x: int) -> int:
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    for a, b in pairs:
        parent[root(a)] = root(b)
    groups: dict[int, list[int]] = {}
    for x in list(parent):
        groups.setdefault(root(x), []).append(x)
    return [sorted(g) for g in groups.values()]


def _merge_item(
    performers: list[LocalPerformer], group: list[int],
    reasons: dict[tuple[int, int], list[str]], distances: dict[tuple[int, int], float],
) -> dict[str, Any]:  # fmt: skip
    members = [performers[i] for i in group]
    pairs = [k for k in reasons if k[0] in group]
    found = [distances[k] for k in pairs if k in distances]
    evidence = [f"{performers[a].name} / {performers[b].name}: {why}"
                for a, b in pairs for why in reasons[(a, b)]]  # fmt: skip
    distance = round(min(found), 4) if found else None
    return {
        "id": "merge:" + "+".join(sorted((p.id for p in members), key=_numeric)),
        "kind": "merge", "score": round(1.0 - distance, 4) if distance is not None else 1.0,
        "evidence": evidence, "performers": [p.out() for p in members], "distance": distance,
    }  # fmt: skip


def _numeric(text: str) -> tuple[int, str]:
    return (int(text), text) if text.isdigit() else (0, text)
