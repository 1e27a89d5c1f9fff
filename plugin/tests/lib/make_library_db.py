"""Fills a sidecar's state database (library.sqlite) with a scanned library (review page tests).

    python make_library_db.py DATA_DIR SCENES

Opens DATA_DIR/library.sqlite with the store's own code (stash_sense.library: the real schema and
its migrations), then writes SCENES finished scenes as a scan would leave them: three persons a
scene, each with a small face crop and five candidates (the first "high" in a third of the
persons, seen in enough frames to be pre-selected), with stash-box ids and no image. Prints one
JSON object: the scene count and the seconds it took.
"""

from __future__ import annotations

import base64
import json
import random
import sqlite3
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from stash_sense.library.store import LOGIC_VERSION, LibraryStore

STASHDB = "https://stashdb.org/graphql"
STUDIOS = ["Studio A", "Studio B", "Studio C", None]
STASH_TIME = "2026-01-01T00:00:00Z"
UUID = "00000000-0000-4000-8000-"
LOGIC = LOGIC_VERSION


def face_jpeg() -> str:
    """A small grey face-sized JPEG (the stored crops are base64 JPEGs)."""
    img = np.full((48, 48, 3), 128, np.uint8)
    cv2.circle(img, (24, 24), 16, (200, 180, 160), -1)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 60])
    assert ok
    return base64.b64encode(buf.tobytes()).decode()


def main() -> int:
    data_dir, count = Path(sys.argv[1]), int(sys.argv[2])
    started = time.monotonic()
    rng = random.Random(21)
    face = face_jpeg()
    store = LibraryStore.in_folder(data_dir)
    store.close()
    db = sqlite3.connect(data_dir / "library.sqlite")
    now = time.time()
    with db:
        db.execute(
            "INSERT INTO scans (scope, status, started_at, updated_at, finished_at, total, done) "
            "VALUES ('all', 'done', ?, ?, ?, ?, ?)",
            (now - 3600, now, now, count, count),
        )
        scenes, persons, candidates = [], [], []
        for i in range(count):
            scene_id = str(10_000 + i)
            date = f"20{10 + i % 15:02d}-{1 + i % 12:02d}-{1 + i % 28:02d}"
            studio = STUDIOS[i % len(STUDIOS)]
            title = f"Library scene {i}"
            scenes.append((scene_id, STASH_TIME, title, date, studio, 1, now, "sprite", 2.0, LOGIC))
            for person_id in range(3):
                frames = rng.randint(1, 20)
                times = sorted(round(rng.uniform(0, 1800), 1) for _ in range(min(frames, 6)))
                persons.append((scene_id, person_id, frames, json.dumps(times), face))
                high = person_id == 0 and i % 3 == 0
                for rank in range(5):
                    pid = rng.randrange(1, 110_000)
                    tier = "high" if high and rank == 0 else ("likely" if rank < 2 else "possible")
                    ids = json.dumps([{"endpoint": STASHDB, "stash_id": f"{UUID}{pid:012d}"}])
                    name = f"Performer {pid}"
                    distance = 0.3 + 0.05 * rank
                    row = (scene_id, person_id, rank, pid, name, None, distance, tier, ids, None, 0)
                    candidates.append((*row, None))
        db.executemany(
            "INSERT INTO scenes (scene_id, stash_updated_at, title, date, studio, status, "
            "attempts, scan_id, scanned_at, source, elapsed_s, logic_version) "
            "VALUES (?, ?, ?, ?, ?, 'done', 0, ?, ?, ?, ?, ?)",
            scenes,
        )
        db.executemany(
            "INSERT INTO persons (scene_id, person_id, frames, times, face_jpeg) "
            "VALUES (?, ?, ?, ?, ?)",
            persons,
        )
        db.executemany(
            "INSERT INTO candidates (scene_id, person_id, rank, performer_id, name, "
            "disambiguation, distance, tier, stash_ids, image_url, already_on_scene, "
            "stash_performer_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            candidates,
        )
    db.close()
    print(json.dumps({"scenes": count, "seconds": round(time.monotonic() - started, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
