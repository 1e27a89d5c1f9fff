"""Incremental updates: after a finished pass only what changed is fetched; renames applied,
deletions marked, merges followed, new performers added."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from buildkit import stashbox

from stash_sense.builder import BuildOptions, build
from stash_sense.database import FaceDatabase
from stash_sense.faces import FaceEngine
from stash_sense.sources.endpoints import EndpointConfig
from stash_sense_devkit.compare import read_contents


def test_update_follows_edits_and_fetches_only_changes(
    faces_dir: Path, engine: FaceEngine, tmp_path: Path
) -> None:
    db = tmp_path / "db"
    with stashbox(faces_dir) as standin:
        endpoint = EndpointConfig(name="box", url=standin.graphql_url, rate_limit=100)

        def run() -> tuple[str, int]:
            result = build(BuildOptions(db=db, endpoint=endpoint, overlap_s=0), engine)
            return result.mode, result.written

        assert run() == ("full", 8)
        ids = standin.stats()["ids"]
        renamed, destroyed, merged_away, merge_target = ids[0], ids[1], ids[2], ids[3]
        standin.edit("update", id=renamed, set={"name": "Adam Sandler (renamed)"})
        standin.edit("destroy", id=destroyed)
        standin.edit("merge", sources=[merged_away], target=merge_target)
        created = standin.edit("create", name="Newcomer", folder="Yao_Ming")["id"]
        images_before = standin.stats()["counts"]["other"]

        mode, written = run()
        assert mode == "incremental"
        # the renamed, the merge target, the new one, and the newest unchanged at the watermark
        assert written <= 4
        assert standin.stats()["counts"]["other"] - images_before == 2  # only Newcomer's images

        # nothing changed: the watermark is when the last pass began reading changes
        assert run() == ("incremental", 0)

    contents = read_contents(db)
    by_id = {sid: (name, merged) for _, sid, name, merged in contents.performers}
    assert by_id[renamed] == ("Adam Sandler (renamed)", False)
    assert destroyed not in by_id  # kept, marked deleted, out of the live contents
    assert by_id[created] == ("Newcomer", False)
    # the merged-away id stays searchable, mapped to the survivor
    assert by_id[merged_away] == (by_id[merge_target][0], True)
    with FaceDatabase.open(db) as fdb:
        assert fdb.manifest.counts["performers"] == 7  # 8 - destroyed - merged + new
        source = fdb.manifest.sources["box"]
        survivor = fdb.performer_by_stash_id(endpoint.url, merged_away)
        assert survivor == fdb.performer_by_stash_id(endpoint.url, merge_target) is not None
    # stash-box drops a merged performer's images: only the survivor's own faces remain
    target_faces = {f[1] for f in contents.faces if f[0] in (merge_target, merged_away)}
    assert len(target_faces) == 2
    assert (source["deleted"], source["merged"], source["performers_seen"]) == (1, 1, 7)
    # `db info`'s table shows them too, with faces per performer
    env = {**os.environ, "COLUMNS": "200"}
    cmd = [sys.executable, "-m", "stash_sense.cli.app", "db", "info", "--db", str(db)]
    text = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
    header = next(line for line in text.splitlines() if "faces/performer" in line)
    row = next(line for line in text.splitlines() if line.strip("│ ").startswith("box "))
    cells = [c.strip() for c in row.strip("│ ").split("│")]
    names = [c.strip() for c in header.strip("┃ ").split("┃")]
    shown = dict(zip(names, cells, strict=False))
    assert shown["deleted"] == "1" and shown["merged ids"] == "1" and shown["performers"] == "7"
    assert float(shown["faces/performer"]) == source["faces_per_performer"]


def test_resume_realigns_after_upstream_deletions(
    faces_dir: Path, engine: FaceEngine, tmp_path: Path
) -> None:
    db = tmp_path / "db"
    with stashbox(faces_dir) as standin:
        endpoint = EndpointConfig(name="box", url=standin.graphql_url, rate_limit=100, page_size=5)
        ids = standin.stats()["ids"]
        assert build(BuildOptions(db=db, endpoint=endpoint, limit=5), engine).written == 5
        standin.edit("destroy", id=ids[4])  # the last one written: the position must realign
        result = build(BuildOptions(db=db, endpoint=endpoint), engine)
        # the 3 left, and ids[4] marked deleted by the pass's sweep
        assert (result.mode, result.written, result.complete) == ("full", 4, True)
        assert result.stats["deleted"] == 1
    stored = {sid for _, sid, _, _ in read_contents(db).performers}
    assert stored == set(ids) - {ids[4]}  # nothing skipped


def test_a_limited_trial_run_is_continued_by_the_next_run(
    faces_dir: Path, engine: FaceEngine, tmp_path: Path
) -> None:
    db = tmp_path / "db"
    with stashbox(faces_dir) as standin:
        endpoint = EndpointConfig(name="box", url=standin.graphql_url, rate_limit=100)
        trial = build(BuildOptions(db=db, endpoint=endpoint, limit=3), engine)
        assert (trial.mode, trial.written, trial.complete) == ("full", 3, False)
        rest = build(BuildOptions(db=db, endpoint=endpoint), engine)
        assert (rest.mode, rest.written, rest.complete) == ("full", 5, True)
    assert len(read_contents(db).performers) == 8
