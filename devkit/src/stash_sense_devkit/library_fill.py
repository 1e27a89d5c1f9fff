"""A synthetic state database (`library.sqlite`) of many scanned scenes, as a scan leaves it.

For the suggestions list's benchmark (bench/bench_suggestions.py), the library tests and the
review page's browser tests (plugin/tests/test/review.test.mjs): scenes with persons (a face
crop, face times, a vector), candidates of every tier with stash-box ids and a picture URL (a
person whose first candidate is "high" and seen in enough frames is pre-selectable), applied and
cluster-rejected decisions, written through the real schema (migrations and triggers run as
for a real scan); then each scene's suggestion summary is computed, as the scan does after each
result, so a list read afterwards measures a scanned library, not the one-off summary build.

    python -m stash_sense_devkit.library_fill DATA_DIR --scenes 20000 --studios 4

Scene n (from 1) is in "Studio <(n - 1) % studios>". Prints one JSON object: the file, the scene
count and the seconds it took. Deterministic for a seed. Nothing here is a real person: names
are "Performer <n>", stash ids are made up, face crops are one small grey JPEG.
"""

from __future__ import annotations

import argparse
import base64
import json
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from stash_sense.library import LibraryStore, PerformerRef
from stash_sense.library.identity import PersonVector
from stash_sense.library.store import LOGIC_VERSION
from stash_sense.library.summary import refresh

STASHDB = "https://stashdb.org/graphql"
TIERS = ("high", "likely", "possible", "unlikely")
EMBEDDER = "sface"
DIMENSIONS = 128


@dataclass
class FillSpec:
    scenes: int = 20_000
    persons: int = 3
    candidates: int = 5
    performers: int = 2_000
    rejections: int = 50  # cluster rejections (with the person's vector)
    applied: int = 50
    studios: int = 40
    seed: int = 0
    summaries: bool = True  # computed, as a scan leaves them (False: all due, as after migration)


def _face_jpeg() -> str:
    image = np.full((160, 160, 3), 128, np.uint8)
    cv2.circle(image, (80, 80), 50, (200, 180, 160), -1)
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 80])
    assert ok
    return base64.b64encode(data.tobytes()).decode()


def stash_ids(performer: int) -> list[dict[str, str]]:
    return [{"endpoint": STASHDB, "stash_id": f"00000000-0000-4000-8000-{performer:012d}"}]


def image_url(performer: int) -> str:
    """The made-up stash-box picture URL a candidate carries (the page asks the sidecar's
    GET /images/<id> for it, never this URL)."""
    return f"https://cdn.stashdb.org/images/00000000-0000-4000-8000-{performer:012d}"


def fill(data_dir: Path, spec: FillSpec | None = None) -> Path:
    """Write `spec.scenes` scanned scenes into `data_dir`/library.sqlite (made if missing) and
    the decisions; the file's path."""
    spec = spec or FillSpec()
    rng = np.random.default_rng(spec.seed)
    jpeg = _face_jpeg()
    with LibraryStore.in_folder(data_dir) as store:
        scan = store.new_scan("all", None, spec.scenes)
        vectors: dict[tuple[str, int], np.ndarray] = {}
        firsts: dict[tuple[str, int], int] = {}
        with store.transaction() as db:
            for n in range(spec.scenes):
                scene_id = str(n + 1)
                date = f"20{10 + n % 16:02d}-{1 + n % 12:02d}-{1 + n % 28:02d}"
                db.execute(
                    "INSERT INTO scenes (scene_id, stash_updated_at, title, date, studio, status,"
                    " attempts, scan_id, scanned_at, source, elapsed_s, logic_version) VALUES "
                    "(?, '2026-01-01T00:00:00Z', ?, ?, ?, 'done', 0, ?, ?, 'sprite', 1.0, ?)",
                    (scene_id, f"Scene {n + 1}", date, f"Studio {n % spec.studios}", scan.id,
                     time.time(), LOGIC_VERSION),
                )  # fmt: skip
                for person in range(spec.persons):
                    vec = rng.normal(size=DIMENSIONS).astype(np.float32)
                    vec /= np.linalg.norm(vec)
                    vectors[(scene_id, person)] = vec
                    frames = int(rng.integers(1, 12))
                    times = json.dumps(
                        [round(float(t), 1) for t in sorted(rng.uniform(0, 1800, 3))]
                    )
                    db.execute(
                        "INSERT INTO persons VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (scene_id, person, frames, times, jpeg, EMBEDDER, vec.tobytes()),
                    )
                    picks = rng.choice(spec.performers, spec.candidates, replace=False)
                    firsts[(scene_id, person)] = int(picks[0])
                    start = float(rng.uniform(0.2, 0.5))
                    for rank, performer in enumerate(picks):
                        distance = start + 0.06 * rank
                        tier = TIERS[min(3, int(rank + rng.integers(0, 2)))]
                        db.execute(
                            "INSERT INTO candidates VALUES "
                            "(?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?)",
                            (scene_id, person, rank, int(performer), f"Performer {performer}",
                             round(distance, 4), tier, json.dumps(stash_ids(int(performer))),
                             image_url(int(performer)), int(rank == 4),
                             f"sp{performer}" if rank == 4 else None),
                        )  # fmt: skip
            db.execute("UPDATE scans SET status = 'done', done = ? WHERE id = ?",
                       (spec.scenes, scan.id))  # fmt: skip
        keys = list(vectors)
        decided = min(len(keys), spec.rejections + spec.applied)  # a small fill: fewer
        picked = rng.choice(len(keys), decided, replace=False)
        for i, index in enumerate(picked):
            scene_id, person = keys[int(index)]
            performer = firsts[(scene_id, person)]
            ref = PerformerRef.from_dicts(performer, f"Performer {performer}", stash_ids(performer))
            if i < spec.rejections:
                cluster = PersonVector(EMBEDDER, vectors[(scene_id, person)])
                store.decide("reject", scene_id, person, ref, distance=0.3, vector=cluster)
            else:
                store.decide("apply", scene_id, person, ref, distance=0.3)
        if spec.summaries:
            refresh(store)
        return store.path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--scenes", type=int, default=FillSpec.scenes)
    parser.add_argument("--studios", type=int, default=FillSpec.studios)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.scenes < 1 or args.studios < 1:
        parser.error("--scenes and --studios must be at least 1")
    started = time.monotonic()
    spec = FillSpec(scenes=args.scenes, studios=args.studios, seed=args.seed)
    path = fill(args.data_dir, spec)
    seconds = round(time.monotonic() - started, 1)
    print(json.dumps({"path": str(path), "scenes": spec.scenes, "seconds": seconds}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
