"""A build from ThePornDB (its stand-in over real HTTP): performers linked to StashDB by the
explicit ids in their links, faces from their posters."""

from __future__ import annotations

from pathlib import Path

from stash_sense.builder import BuildOptions, build
from stash_sense.faces import FaceEngine
from stash_sense.sources.endpoints import EndpointConfig
from stash_sense_devkit.compare import read_contents
from stash_sense_devkit.standins.launch import serve_in_subprocess


def test_tpdb_build(faces_dir: Path, engine: FaceEngine, tmp_path: Path) -> None:
    db = tmp_path / "db"
    with serve_in_subprocess("tpdb", ["--faces", str(faces_dir), "--api-key", "t0k"]) as base:
        endpoint = EndpointConfig(
            name="tpdb",
            url=base,
            kind="tpdb",
            api_key="t0k",  # type: ignore[arg-type]
            rate_limit=100,
            stash_endpoint="https://theporndb.net/graphql",
        )
        result = build(BuildOptions(db=db, endpoint=endpoint), engine)
    # 8, then the same 8 again: ThePornDB's performers carry no times, so reading "what changed
    # since the pass began" is reading everyone (their images are not fetched again)
    assert (result.mode, result.written, result.complete) == ("full", 16, True)
    assert result.stats["images_seen"] == 16
    assert result.stats["kind"] == "tpdb" and result.stats["with_faces"] == 8
    contents = read_contents(db)
    endpoints = {endpoint for endpoint, _, _, _ in contents.performers}
    assert endpoints == {"https://theporndb.net/graphql", "https://stashdb.org/graphql"}
    assert len(contents.performers) == 16  # each performer: its TPDB id and its StashDB id
    assert len(contents.faces) >= 14
