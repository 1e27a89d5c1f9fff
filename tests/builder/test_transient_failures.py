"""Failures that pass (outages, random 5xx, transient GraphQL errors, 429 storms) never become
permanent holes: what failed waits in the ledger, is retried at the end of the pass and by the
next run, and the database ends equal to a clean build of the same source."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from buildkit import stashbox

from stash_sense.builder import BuildOptions, build
from stash_sense.faces import FaceEngine
from stash_sense.sources.endpoints import EndpointConfig
from stash_sense_devkit.compare import DatabaseContents, read_contents
from stash_sense_devkit.standins.control import StandIn


@pytest.fixture(scope="module")
def server(faces_dir: Path) -> Iterator[StandIn]:
    with stashbox(faces_dir) as standin:
        yield standin


@pytest.fixture
def standin(server: StandIn) -> Iterator[StandIn]:
    yield server
    server.reset()


def endpoint_of(standin: StandIn) -> EndpointConfig:
    return EndpointConfig(
        name="box", url=standin.graphql_url, rate_limit=100, page_size=3, retries=2, timeout_s=2
    )


@pytest.fixture(scope="module")
def clean(
    server: StandIn, engine: FaceEngine, tmp_path_factory: pytest.TempPathFactory
) -> DatabaseContents:
    db = tmp_path_factory.mktemp("clean") / "db"
    assert build(BuildOptions(db=db, endpoint=endpoint_of(server)), engine).complete
    return read_contents(db)


def options(db: Path, standin: StandIn, rounds: int = 1, wait_s: float = 0.1) -> BuildOptions:
    return BuildOptions(
        db=db, endpoint=endpoint_of(standin), retry_rounds=rounds, retry_wait_s=wait_s
    )


@pytest.mark.parametrize("kind", ["503", "reset"])
def test_images_failing_in_an_outage_are_fetched_by_the_next_run(
    standin: StandIn, engine: FaceEngine, clean: DatabaseContents, tmp_path: Path, kind: str
) -> None:
    standin.configure(outage_s=12, outage_kind=kind, outage_paths=["/images"])
    started = time.monotonic()
    first = build(options(tmp_path / "db", standin), engine)
    assert time.monotonic() - started < 12, "the outage must outlast the first run"
    assert (first.complete, first.pending, first.stats["pending"]) == (False, 16, 16)
    assert first.stats["faces"] == 0 and first.stats["skipped"] == {}  # nothing recorded as done
    time.sleep(max(0.0, 12.5 - (time.monotonic() - started)))
    second = build(options(tmp_path / "db", standin), engine)
    assert (second.complete, second.pending) == (True, 0)
    assert read_contents(tmp_path / "db").differences(clean) == []


def test_random_server_errors_lose_nothing(
    standin: StandIn, engine: FaceEngine, clean: DatabaseContents, tmp_path: Path
) -> None:
    standin.configure(fail_rate=0.3)
    result = build(options(tmp_path / "db", standin, rounds=4), engine)
    assert (result.complete, result.pending) == (True, 0)
    assert read_contents(tmp_path / "db").differences(clean) == []


def test_transient_graphql_errors_skip_no_page(
    standin: StandIn, engine: FaceEngine, clean: DatabaseContents, tmp_path: Path
) -> None:
    standin.configure(graphql_error_rate=0.5)
    result = build(options(tmp_path / "db", standin), engine)
    assert standin.stats()["counts"].get("graphql_error", 0) > 0
    assert (result.complete, result.pending) == (True, 0)
    assert read_contents(tmp_path / "db").differences(clean) == []


def test_a_429_storm_is_waited_out(
    standin: StandIn, engine: FaceEngine, clean: DatabaseContents, tmp_path: Path
) -> None:
    standin.configure(storm_s=3)
    result = build(options(tmp_path / "db", standin, wait_s=1), engine)
    assert standin.stats()["counts"].get("429", 0) > 0
    assert (result.complete, result.pending) == (True, 0)
    assert read_contents(tmp_path / "db").differences(clean) == []
