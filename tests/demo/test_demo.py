"""The offline demo, run as a user runs it: a fresh process, outside the repository."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from stash_sense.database import FaceDatabase
from stash_sense.demo import DEMO_DATA, load_queries, load_scene


def test_bundled_demo_data_is_small_and_attributed() -> None:
    files = [p for p in DEMO_DATA.rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) < 1024 * 1024
    assert "Labeled Faces in the Wild" in (DEMO_DATA / "ATTRIBUTION.md").read_text()
    people = {p.name.replace("_", " ") for p in (DEMO_DATA / "faces").iterdir()}
    assert 10 <= len(people) <= 12
    queries = load_queries(DEMO_DATA)
    assert set(queries.values()) <= people
    assert all((DEMO_DATA / "queries" / name).is_file() for name in queries)
    video, in_scene = load_scene(DEMO_DATA / "scene")
    assert video.stat().st_size < 300 * 1024
    assert len(in_scene) >= 2 and set(in_scene) <= people
    assert "scene/scene.mp4" in (DEMO_DATA / "ATTRIBUTION.md").read_text()


def test_demo_builds_and_recognises_every_query(tmp_path: Path) -> None:
    out = tmp_path / "out"
    env = {**os.environ, "COLUMNS": "200"}
    proc = subprocess.run(
        [sys.executable, "-m", "stash_sense.demo", "--output", str(out)],
        cwd=tmp_path,  # nothing of the repository is at hand
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 of 3 query pictures recognised" in proc.stdout
    for expected in load_queries(DEMO_DATA).values():
        assert f"✓ {expected}" in proc.stdout
    # the main job on the bundled scene: everyone in it is named, nobody else
    _, in_scene = load_scene(DEMO_DATA / "scene")
    found = f"{len(in_scene)} of {len(in_scene)} people in the scene found"
    assert found in proc.stdout
    assert proc.stdout.rstrip().endswith(", ".join(in_scene))
    assert "✗" not in proc.stdout
    with FaceDatabase.open(out / "db") as fdb:
        manifest = json.loads((fdb.path / "manifest.json").read_text())
    assert manifest["counts"]["performers"] == 12
    assert manifest["sources"]["enroll"]["with_faces"] == 12
    # two photos each; enrolment keeps only faces of usable quality (21 of 24 when measured)
    assert 20 <= manifest["counts"]["faces"] <= 24
