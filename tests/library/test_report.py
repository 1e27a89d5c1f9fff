"""The rejection report splits distances per embedder where the decision kept them, and
`stash-sense scan --report --json` prints it without scanning anything."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from stash_sense.app.library import decide, rejection_report
from stash_sense.app.library_models import DecisionRequest
from stash_sense.library import LibraryStore
from stash_sense_devkit.library_fill import FillSpec, fill


def _store(tmp_path: Path) -> LibraryStore:
    path = fill(tmp_path, FillSpec(scenes=6, performers=10, rejections=0, applied=0))
    store = LibraryStore.in_folder(path.parent)
    with store.transaction() as db:  # as a scan with two embedders stores them
        db.execute(
            "INSERT INTO candidate_distances SELECT scene_id, person_id, rank, 'sface', "
            "distance - 0.02 FROM candidates"
        )
        db.execute(
            "INSERT INTO candidate_distances SELECT scene_id, person_id, rank, 'arcface', "
            "distance + 0.11 FROM candidates"
        )
    return store


def test_the_report_splits_distances_per_embedder(tmp_path: Path) -> None:
    store = _store(tmp_path)
    for scene in ("1", "2", "3"):
        cand = store.candidates([scene])[0]
        decide(store, DecisionRequest(kind="reject", scene_id=scene, person_id=cand["person_id"],
                                      performer_id=cand["performer_id"]))  # fmt: skip
    found = rejection_report(store)
    assert found.rejections == 3
    assert set(found.by_embedder) == {"arcface", "sface"}
    assert sum(r.rejections for r in found.by_embedder["sface"]) == 3
    fused = {r.min_distance for r in found.by_distance}
    shifted = {r.min_distance for r in found.by_embedder["arcface"]}
    assert min(shifted) > min(fused)  # each embedder's own distance, not the fused one


def test_scan_report_json_prints_the_report(tmp_path: Path) -> None:
    store = _store(tmp_path)
    cand = store.candidates(["4"])[0]
    decide(store, DecisionRequest(kind="reject", scene_id="4", person_id=cand["person_id"],
                                  performer_id=cand["performer_id"]))  # fmt: skip
    store.close()
    cmd = [sys.executable, "-m", "stash_sense.cli.app", "scan", "--report", "--json",
           "--data-dir", str(tmp_path)]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["rejections"] == 1 and set(report["by_embedder"]) == {"arcface", "sface"}
    assert report["by_performer"][0]["name"] == cand["name"]
    plain = subprocess.run([*cmd[:-3], "--data-dir", str(tmp_path)], capture_output=True,
                           text=True, timeout=120, check=False)  # fmt: skip
    assert plain.returncode == 0 and "1 rejections in force" in plain.stdout
    assert "by sface distance" in plain.stdout
