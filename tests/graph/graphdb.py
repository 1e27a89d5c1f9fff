"""A real face database of several endpoints for graph tests: records written with the
product's DatabaseWriter, faces as unit vectors (no model run), published once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from stash_sense.database import DatabaseWriter, EmbedderInfo, PerformerRecord
from stash_sense.faces.types import AnalyzedFace, Box, DetectedFace, FaceQuality
from stash_sense.graph.model import FANSDB, JAVSTASH, STASHDB, THEPORNDB

EMBEDDERS = [EmbedderInfo("alpha", 32, "1.0", "a" * 64)]


def face(seed: int, noise: float) -> AnalyzedFace:
    rng = np.random.default_rng(seed)
    centre = rng.normal(size=32)
    v = centre / np.linalg.norm(centre) + noise * np.random.default_rng().normal(size=32) / 6
    quality = FaceQuality(0.9, 100.0, 120.0, 0.0, 0.0, 0.0, True)
    detected = DetectedFace(Box(10, 20, 100, 120), 0.9, np.zeros((5, 2), np.float32))
    return AnalyzedFace(detected, quality, {"alpha": (v / np.linalg.norm(v)).astype(np.float32)})


#: (endpoint, id, record fields, face seed or None)
WORLD: list[tuple[str, str, dict[str, object], int | None]] = [
    (
        STASHDB,
        "sd-jane",
        {
            "name": "Jane Doe",
            "birthdate": "1990-01-02",
            "country": "US",
            "urls": [("https://twitter.com/JaneDoeXX", "twitter")],
        },
        1,
    ),
    (THEPORNDB, "tp-jane", {"name": "Jane Doe", "stash_ids": [(STASHDB, "sd-jane")]}, 1),
    (FANSDB, "fd-jane", {"name": "Janie D", "urls": [("https://x.com/janedoexx/media", None)]}, 1),
    (STASHDB, "sd-yui", {"name": "Yui Hatano", "birthdate": "1988-05-24"}, 2),
    (JAVSTASH, "jv-yui", {"name": "波多野結衣", "birthdate": "1988-05-24"}, 2),
    (FANSDB, "fd-lisa", {"name": "Lisa", "birthdate": "1995-01-01"}, 3),
    (JAVSTASH, "jv-lisa", {"name": "Lisa", "birthdate": "1980-07-07"}, 4),
    (FANSDB, "fd-look", {"name": "Mary Major"}, 2),
]


def make_database(root: Path, extra: list[PerformerRecord] | None = None) -> Path:
    """Write WORLD (and `extra` records, under FansDB) and publish; returns the root."""
    with DatabaseWriter.open(root, EMBEDDERS) as writer:
        for n, (endpoint, sid, given, seed) in enumerate(WORLD):
            fields = dict(given)
            ids = [(endpoint, sid), *fields.pop("stash_ids", [])]  # type: ignore[misc]
            rec = PerformerRecord(stash_ids=ids, primary_source=endpoint, **fields)  # type: ignore[arg-type]
            pid = writer.upsert_performer(rec, endpoint)
            if seed is not None:
                writer.add_face(pid, endpoint, f"https://img.example/{n}.jpg", face(seed, 0.2))
        for rec in extra or []:
            writer.upsert_performer(rec, FANSDB)
        writer.publish()
    return root


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """`stash-sense ARGS` in a fresh process, as a user runs it."""
    cmd = [sys.executable, "-m", "stash_sense.cli.app", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=240)
