"""A row two sources share (ThePornDB's record stating a StashDB id, and StashDB's own record):
when one source no longer knows its id, only that source's claim on the row goes (its stash id,
its faces, what only it listed); the other source's record stays searchable. Over real HTTP: the
ThePornDB and stash-box stand-ins, the real face engine, `stash-sense identify`."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from buildkit import NAMES

from stash_sense.builder import BuildOptions, BuildResult, build
from stash_sense.database import FaceDatabase
from stash_sense.faces import FaceEngine
from stash_sense.sources.endpoints import EndpointConfig
from stash_sense_devkit.standins.catalog import stable_id
from stash_sense_devkit.standins.control import StandIn, make_faces_dir
from stash_sense_devkit.standins.launch import free_port, serve_in_subprocess, serve_in_thread
from stash_sense_devkit.standins.tpdb import TpdbOptions, tpdb_app

STASHDB = "https://stashdb.org/graphql"
THEPORNDB = "https://theporndb.net/graphql"


def stashdb(url: str) -> EndpointConfig:
    """The stash-box stand-in as StashDB (stash ids recorded under StashDB's endpoint, as the
    ThePornDB stand-in's links state them)."""
    return EndpointConfig(
        name="stashdb", url=url, kind="stash-box", rate_limit=100, stash_endpoint=STASHDB
    )


def tpdb(url: str) -> EndpointConfig:
    return EndpointConfig(
        name="tpdb", url=url, kind="tpdb", rate_limit=100, stash_endpoint=THEPORNDB
    )


@contextmanager
def tpdb_on(faces: Path, port: int) -> Iterator[str]:
    """The ThePornDB stand-in serving FACES on a given port (restarted there, its image URLs
    stay the same)."""
    with serve_in_thread(tpdb_app(TpdbOptions(faces_dir=faces)), port=port) as base:
        yield base


def built(db: Path, endpoint: EndpointConfig, engine: FaceEngine) -> BuildResult:
    result = build(BuildOptions(db=db, endpoint=endpoint, retry_wait_s=0.1), engine)
    assert result.complete, result
    return result


def row(fdb: FaceDatabase, endpoint: str, stash_id: str) -> dict[str, object] | None:
    """The live (not deleted) performer holding this stash id in the published database: its
    stash ids, its faces' sources, its URLs; None when no live performer holds it."""
    pid = fdb.performer_by_stash_id(endpoint, stash_id)
    q = fdb.query
    if pid is None or q("SELECT deleted FROM performers WHERE id = ?", (pid,))[0][0]:
        return None
    return {
        "stash_ids": sorted(
            q("SELECT endpoint, stash_id FROM stash_ids WHERE performer_id = ?", (pid,))
        ),
        "face_sources": sorted(
            s for (s,) in q("SELECT source FROM faces WHERE performer_id = ?", (pid,))
        ),
        "urls": sorted(
            u for (u,) in q("SELECT url FROM external_urls WHERE performer_id = ?", (pid,))
        ),
    }


def identified(db: Path, photos: list[Path]) -> list[str]:
    """`stash-sense identify --top 1`: the best match's name for each photo."""
    cli = [sys.executable, "-m", "stash_sense.cli.app", "identify", "--db", str(db)]
    out = subprocess.run(
        [*cli, "--json", "--top", "1", *map(str, photos)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return [json.loads(ln)["faces"][0]["matches"][0]["name"] for ln in out.stdout.splitlines()]


def test_a_stashdb_sweep_keeps_the_theporndb_record_stating_an_unknown_stashdb_id(
    faces_dir: Path, lfw_dev: Path, engine: FaceEngine, tmp_path: Path
) -> None:
    db = tmp_path / "db"
    on_box = make_faces_dir(lfw_dev, tmp_path / "box-faces", NAMES[:6], images=2)
    unknown = NAMES[6:]  # ThePornDB links them to StashDB ids StashDB does not serve
    with serve_in_subprocess("tpdb", ["--faces", str(faces_dir)]) as tp_url:
        built(db, tpdb(tp_url), engine)
    with serve_in_subprocess("stashbox", ["--faces", str(on_box)]) as box_url:
        result = built(db, stashdb(box_url + "/graphql"), engine)
    assert result.stats["deleted"] == 0, result.stats
    with FaceDatabase.open(db) as fdb:
        for folder in NAMES:
            name = folder.replace("_", " ")
            tp, sd = stable_id("tpdb-performer", name), stable_id("performer", name)
            found = row(fdb, THEPORNDB, tp)
            assert found is not None, f"{name}: ThePornDB's record was lost"
            if folder in unknown:  # StashDB's claim (the id it does not know) went, no more
                assert found["stash_ids"] == [(THEPORNDB, tp)], found
                assert set(found["face_sources"]) == {"tpdb"}, found
                assert fdb.performer_by_stash_id(STASHDB, sd) is None
            else:  # one row, both records, both sources' faces
                assert found["stash_ids"] == sorted([(STASHDB, sd), (THEPORNDB, tp)]), found
                assert set(found["face_sources"]) == {"stashdb", "tpdb"}, found
                assert fdb.performer_by_stash_id(STASHDB, sd) == fdb.performer_by_stash_id(
                    THEPORNDB, tp
                )
    photos = [lfw_dev / folder / "3.jpg" for folder in unknown]
    assert identified(db, photos) == [folder.replace("_", " ") for folder in unknown]


def test_a_theporndb_sweep_keeps_the_stashdb_record_on_the_row_they_share(
    faces_dir: Path, lfw_dev: Path, engine: FaceEngine, tmp_path: Path
) -> None:
    db = tmp_path / "db"
    fewer = make_faces_dir(lfw_dev, tmp_path / "tpdb-faces", NAMES[:7], images=2)
    gone = NAMES[7].replace("_", " ")  # ThePornDB stops listing her; StashDB still does
    port = free_port()
    tp, sd = stable_id("tpdb-performer", gone), stable_id("performer", gone)
    slug_url = f"https://example.org/{gone.lower().replace(' ', '-')}"  # ThePornDB's link
    own_url = "https://twitter.com/yaoming"  # StashDB lists this one instead
    with serve_in_subprocess("stashbox", ["--faces", str(faces_dir)]) as box_url:
        StandIn(box_url).edit("update", id=sd, set={"urls": [own_url]})
        built(db, stashdb(box_url + "/graphql"), engine)
    with tpdb_on(faces_dir, port) as tp_url:
        built(db, tpdb(tp_url), engine)
    with FaceDatabase.open(db) as fdb:
        shared = row(fdb, STASHDB, sd)
        assert shared is not None and (THEPORNDB, tp) in shared["stash_ids"]
        assert set(shared["face_sources"]) == {"stashdb", "tpdb"} and slug_url in shared["urls"]
    with tpdb_on(fewer, port) as tp_url:
        result = built(db, tpdb(tp_url), engine)
    assert result.mode == "incremental" and result.stats["deleted"] == 0, result.stats
    with FaceDatabase.open(db) as fdb:
        kept = row(fdb, STASHDB, sd)
        assert kept is not None, "StashDB's record was lost with ThePornDB's"
        assert kept["stash_ids"] == [(STASHDB, sd)], kept  # ThePornDB's id went
        assert set(kept["face_sources"]) == {"stashdb"}, kept  # and its faces
        assert kept["urls"] == [own_url], kept  # and the URL only it listed
        assert fdb.performer_by_stash_id(THEPORNDB, tp) is None
        for other in NAMES[:7]:  # the others still hold both records
            other_row = row(fdb, THEPORNDB, stable_id("tpdb-performer", other.replace("_", " ")))
            assert other_row is not None and len(other_row["stash_ids"]) == 2, other
    assert identified(db, [lfw_dev / NAMES[7] / "3.jpg"]) == [gone]


def test_a_stashdb_merge_moves_the_theporndb_record_to_the_survivor_with_its_faces(
    faces_dir: Path, engine: FaceEngine, tmp_path: Path
) -> None:
    db = tmp_path / "db"
    away, target = "Yao Ming", "Tom Cruise"  # StashDB merges the first into the second
    sd_away, sd_target = stable_id("performer", away), stable_id("performer", target)
    tp_away = stable_id("tpdb-performer", away)
    with serve_in_subprocess("tpdb", ["--faces", str(faces_dir)]) as tp_url:
        built(db, tpdb(tp_url), engine)
    with serve_in_subprocess("stashbox", ["--faces", str(faces_dir)]) as box_url:
        built(db, stashdb(box_url + "/graphql"), engine)
        with FaceDatabase.open(db) as fdb:
            before = row(fdb, THEPORNDB, tp_away)
            assert before is not None and set(before["face_sources"]) == {"stashdb", "tpdb"}
            tpdb_faces = before["face_sources"].count("tpdb")
            target_before = row(fdb, STASHDB, sd_target)
            assert target_before is not None
        StandIn(box_url).edit("merge", sources=[sd_away], target=sd_target)
        built(db, stashdb(box_url + "/graphql"), engine)
    with FaceDatabase.open(db) as fdb:
        survivor = fdb.performer_by_stash_id(STASHDB, sd_target)
        assert survivor is not None
        # the merged-away id and ThePornDB's record both find the survivor
        assert fdb.performer_by_stash_id(STASHDB, sd_away) == survivor
        assert fdb.performer_by_stash_id(THEPORNDB, tp_away) == survivor
        after = row(fdb, STASHDB, sd_target)
        assert after is not None
        # StashDB's faces of the merged-away performer went; ThePornDB's came along
        assert sorted(after["face_sources"]) == sorted(
            [*target_before["face_sources"], *["tpdb"] * tpdb_faces]
        ), after
