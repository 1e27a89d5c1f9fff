"""The scan's pipeline over pages and its default memory ceiling, over real HTTP against the
Stash stand-in with the real models: the first scene of the next page is fetched while the last
of a page is analysed, and the default ceiling counts a steady scan's memory, not the first
scene's alone."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from scan_stash import lend_growing, make_dated_scenes

from stash_sense.app.recognizer import Recognizer
from stash_sense.library import LibraryScan, LibraryStore, ScanOptions
from stash_sense.library.pace import FLOOR_MB, GROWTH_MB, default_ceiling
from stash_sense.library.scan import BASELINE_SCENES, Fetched
from stash_sense.sources.stash import StashClient
from stash_sense_devkit.standins.launch import serve_in_subprocess


@pytest.fixture(scope="module")
def dated(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Iterator[str]:
    scenes = make_dated_scenes(tmp_path_factory.mktemp("dated"), data_dir, 3)
    with serve_in_subprocess("stash", ["--scenes", str(scenes)]) as url:
        yield url


class Observed(LibraryScan):
    """The real scan, noting when each scene's fetch starts and when each scene is recorded."""

    events: list[tuple[str, str]]

    def _fetch(self, scene_id: str, should_stop: Callable[[], bool]) -> Fetched:
        self.events.append(("fetch", scene_id))
        return super()._fetch(scene_id, should_stop)

    def _scene(self, scan: Any, ref: Any, *rest: Any) -> str:
        outcome = super()._scene(scan, ref, *rest)
        self.events.append((outcome, ref.id))
        return outcome


def test_the_next_pages_first_scene_is_fetched_while_a_pages_last_is_analysed(
    dated: str, recognizer: Recognizer, tmp_path: Path
) -> None:
    """Two scenes a page: scene 3 starts on page 2. Before, it was fetched only after scene 2
    was recorded and page 2 listed (a serial stretch at every page's end)."""
    opts = ScanOptions(frames=8, per_page=2, niceness=0, memory_ceiling_mb=1e9)
    with LibraryStore.in_folder(tmp_path) as store:
        runner = Observed(store, StashClient(dated), lambda: _lend(recognizer), opts)
        runner.events = []
        done = runner.run()
        assert (done.status, done.done, done.failed) == ("done", 3, 0)
    events = runner.events
    assert events.index(("fetch", "3")) < events.index(("done", "2")), events
    assert [e for e in events if e[0] == "fetch"] == [("fetch", s) for s in ("1", "2", "3")]


@contextmanager
def _lend(recognizer: Recognizer) -> Iterator[Recognizer]:
    yield recognizer


def test_memory_a_steady_scan_holds_beside_the_first_scene_does_not_pause_it(
    dated: str, recognizer: Recognizer, tmp_path: Path
) -> None:
    """The default ceiling was the RSS after the first scene plus 512 MiB; the second scene,
    analysed while its successor is fetched, may hold more (the benchmark's scan paused at
    1,003 MB > 983 MB): the ceiling now comes from the first BASELINE_SCENES scenes' RSS."""
    assert BASELINE_SCENES == 2
    # from the second scene on, 600 MB more than after the first
    use = lend_growing(recognizer, 2, 600)
    opts = ScanOptions(frames=8, per_page=2, niceness=0)
    with LibraryStore.in_folder(tmp_path) as store:
        done = LibraryScan(store, StashClient(dated), use, opts).run()
        assert (done.status, done.done) == ("done", 3), done.reason


def test_the_default_ceiling_is_never_under_the_scans_memory_target() -> None:
    """The benchmark's scan held about 500 MB after its first scenes and 1,100 to 1,200 MB
    after 20 to 40: growth above the first scenes alone paused it ("memory ceiling: 1160 MB >
    1049" after 41 scenes). A large database's models start higher: growth counts there."""
    assert default_ceiling([471.0, 537.0]) == FLOOR_MB == 1536
    assert default_ceiling([1200.0, 1100.0]) == 1200 + GROWTH_MB
