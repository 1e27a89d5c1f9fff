"""The builder reports its progress to a callback (the CLI draws it): each stage starts at zero,
counts up batch by batch towards its total and says when it ends."""

from __future__ import annotations

from pathlib import Path

from buildkit import stashbox

from stash_sense.builder import BuildOptions, BuildProgress, build
from stash_sense.faces import FaceEngine
from stash_sense.sources.endpoints import EndpointConfig


def test_each_stage_reports_from_start_to_end(
    faces_dir: Path, engine: FaceEngine, tmp_path: Path
) -> None:
    reports: list[BuildProgress] = []
    with stashbox(faces_dir) as standin:
        endpoint = EndpointConfig(name="box", url=standin.graphql_url, rate_limit=100)
        options = BuildOptions(
            db=tmp_path / "db", endpoint=endpoint, batch_size=3, on_progress=reports.append
        )
        result = build(options, engine)
    stages = list(dict.fromkeys(r.stage for r in reports))
    assert stages[0] == "box" and "box sweep" in stages
    for stage in stages:
        mine = [r for r in reports if r.stage == stage]
        assert mine[0].done == 0 and not mine[0].finished
        assert mine[-1].finished and [r.finished for r in mine].count(True) == 1
        done = [r.done for r in mine]
        assert done == sorted(done)
    full = [r for r in reports if r.stage == "box"]
    assert full[-1].done == full[-1].total == result.written == 8
    assert len(full) >= 2 + 8 // 3  # start, a report per committed batch of at most 3, end
    assert full[-1].faces == result.stats["faces"] > 0
    assert "box: 8/8 performers" in full[-1].line()
