"""Incremental updates: after a finished pass only what changed is fetched; renames applied,
deletions marked, merges followed, new performers added."""

from __future__ import annotations

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

        assert run() == ("incremental", 1)  # nothing changed: only the one at the watermark

    contents = read_contents(db)
    by_id = {sid: (name, deleted) for _, sid, name, deleted in contents.performers}
    assert by_id[renamed] == ("Adam Sandler (renamed)", False)
    assert by_id[destroyed][1] is True
    assert by_id[created] == ("Newcomer", False)
    assert merged_away not in by_id  # its stash id was folded into the target's performer
    target_faces = [f for f in contents.faces if f[0] == merge_target]
    assert len(target_faces) >= 3  # its own faces and those of the merged performer
    with FaceDatabase.open(db) as fdb:
        source = fdb.manifest.sources["box"]
        assert fdb.manifest.counts["performers"] == 7  # 8 - destroyed - merged + new
    assert source["deleted"] == 1
    assert source["merged"] == 1
    assert source["performers_seen"] == 8  # 8 first seen + newcomer - the merged duplicate


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
        assert (result.mode, result.written, result.complete) == ("full", 3, True)
    stored = {sid for _, sid, _, _ in read_contents(db).performers}
    assert stored == set(ids)  # nothing skipped (ids[4] is marked deleted by the next update)


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
