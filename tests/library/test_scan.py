"""The library scan over real HTTP against the Stash stand-in, with the real models: it finds
the people of the bundled scene, skips what is done, rescans what was edited, records failures
and keeps going, and a rejection sticks across a rescan."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import nullcontext
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import numpy as np
import pytest
from scan_stash import lend_growing, make_scenes

from stash_sense.app.recognizer import Recognizer
from stash_sense.library import LibraryScan, LibraryStore, ScanOptions, ScanScope, suggestions
from stash_sense.library.identity import PerformerRef, from_blob
from stash_sense.library.pace import rss_mb
from stash_sense.library.store import PersonVector
from stash_sense.library.suggest import SuggestionFilter
from stash_sense.sources.ratelimit import TokenBucket
from stash_sense.sources.stash import StashClient
from stash_sense_devkit.standins.launch import free_port, serve_in_subprocess

PEOPLE = {"Ali Naimi", "Monica Seles", "Tommy Thompson"}
RATE, BURST = 5.0, 2


def scan(
    store: LibraryStore,
    url: str,
    recognizer: Recognizer,
    limiter: TokenBucket | None = None,
    **options: object,
) -> LibraryScan:
    # the ceiling counts this process's RSS, which here is the whole test run's (about 2 GB in a
    # full run): only the memory-ceiling test sets one
    given: dict[str, object] = {"memory_ceiling_mb": 1e9, **options}
    opts = ScanOptions(frames=8, per_page=2, niceness=0, **given)  # type: ignore[arg-type]
    stash = StashClient(url, limiter=limiter)
    runner = LibraryScan(store, stash, lambda: nullcontext(recognizer), opts)
    runner.run()
    return runner


def found_people(store: LibraryStore, scene_id: str) -> set[str]:
    page = suggestions(store, SuggestionFilter(has_suggestion=None, limit=100))
    scene = next(s for s in page.scenes if s.scene_id == scene_id)
    return {p.candidates[0].name for p in scene.persons if p.candidates}


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Iterator[str]:
    scenes = make_scenes(tmp_path_factory.mktemp("library"), data_dir, 3, empty=(4,))
    with serve_in_subprocess("stash", ["--scenes", str(scenes)]) as url:
        yield url


def test_scan_skip_rescan_and_a_rejection_that_sticks(
    library: str, recognizer: Recognizer, tmp_path: Path
) -> None:
    store = LibraryStore.in_folder(tmp_path)
    first = scan(store, library, recognizer)
    done = first.progress()
    assert done.scan is not None and done.scan.status == "done"
    assert (done.scan.total, done.scan.done, done.scan.failed) == (4, 4, 1)
    assert done.scanned_this_run == 3 and done.rate_per_hour and done.rate_per_hour > 0
    for scene_id in ("1", "2", "3"):
        assert found_people(store, scene_id) == PEOPLE
    [failure] = store.failures()
    assert (
        failure["scene_id"] == "4"
        and "neither a usable sprite sheet nor a stream" in (failure["reason"])
    )

    # a second scan scans nothing again but tries the failed scene once more
    again = scan(store, library, recognizer).progress()
    assert again.scanned_this_run == 0 and again.scan is not None
    assert (again.scan.done, again.scan.failed) == (4, 1)
    assert store.failures()[0]["attempts"] == 2

    # "not this person": Monica rejected on scene 1, with her face cluster
    person = next(
        p for p in store.persons(["1"])
        if store.candidate("1", p["person_id"], _pid(store, "Monica Seles")) is not None
    )  # fmt: skip
    cand = store.candidate("1", person["person_id"], _pid(store, "Monica Seles"))
    assert cand is not None
    monica = PerformerRef.from_row(cand["performer_id"], cand["name"], cand["stash_ids"])
    vector = from_blob(person["vector"])
    assert vector is not None
    decision = store.decide(
        "reject", "1", person["person_id"], monica, distance=cand["distance"],
        tier=cand["tier"], vector=PersonVector(person["embedder"], vector),
    )  # fmt: skip
    for scene_id in ("1", "2", "3"):  # the same face in every copy: her cluster is rejected
        assert "Monica Seles" not in found_people(store, scene_id)

    # scene 1 edited in Stash (a new updated_at): rescanned alone; the rejection stays
    answer = httpx.post(f"{library}/graphql", json={
        "query": "mutation($id: ID!) { sceneUpdate(input: {id: $id, title: \"edited\"}) { id } }",
        "variables": {"id": "1"},
    }).json()  # fmt: skip
    assert not answer.get("errors"), answer
    third = scan(store, library, recognizer).progress()
    assert third.scanned_this_run == 1
    assert "Monica Seles" not in found_people(store, "1")
    assert found_people(store, "1") == PEOPLE - {"Monica Seles"}

    undone = store.undo(decision)
    assert undone is not None and undone.kind == "reject"
    assert found_people(store, "1") == PEOPLE
    store.close()


def _pid(store: LibraryStore, name: str) -> int:
    for c in store.candidates(["1"]):
        if c["name"] == name:
            return int(c["performer_id"])
    raise AssertionError(f"{name} is no candidate of scene 1")


class _Failing(BaseHTTPRequestHandler):
    """In front of the stand-in: answers HTTP 500 to a findScene of scene 2, as a Stash whose
    database is locked does; passes everything else through."""

    target = ""
    #: when each request the scan's own client sent arrived (the decoders' stream reads aside)
    seen: list[float]

    def do_POST(self) -> None:
        self.seen.append(time.monotonic())
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        sent = json.loads(body)
        if "FindScene(" in sent["query"] and sent["variables"].get("id") == "2":
            self.send_response(500)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        headers = {"Content-Type": "application/json", "Host": self.headers["Host"]}
        self._send(httpx.post(self.target + self.path, content=body, headers=headers))

    def do_GET(self) -> None:
        if not self.path.endswith("/stream") or self.headers.get("Range") == "bytes=0-0":
            self.seen.append(time.monotonic())
        passed = {k: self.headers[k] for k in ("Host", "Range") if k in self.headers}
        self._send(httpx.get(self.target + self.path, headers=passed))

    def _send(self, answer: httpx.Response) -> None:
        self.send_response(answer.status_code)
        for name in ("Content-Type", "Content-Range", "Accept-Ranges"):
            if name in answer.headers:
                self.send_header(name, answer.headers[name])
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    def log_message(self, *args: object) -> None:
        pass


def test_a_stash_500_is_recorded_and_the_scan_goes_on_within_the_rate(
    library: str, recognizer: Recognizer, tmp_path: Path
) -> None:
    seen: list[float] = []
    handler = type("Failing", (_Failing,), {"target": library, "seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        with LibraryStore.in_folder(tmp_path) as store:
            bucket = TokenBucket(RATE, BURST)
            progress = scan(store, url, recognizer, bucket, scope=ScanScope.ALL).progress()
            assert progress.scan is not None and progress.scan.status == "done"
            reasons = {f["scene_id"]: f["reason"] for f in store.failures()}
            assert "HTTP 500" in reasons["2"] and "4" in reasons, reasons
            assert found_people(store, "3") == PEOPLE  # the scan went on past scene 2
        # every stretch of time holds at most the bucket's burst plus its rate's worth
        assert len(seen) >= 10
        for i, start in enumerate(seen):
            for j in range(i + 1, len(seen)):
                allowed = BURST + RATE * (seen[j] - start) + 0.5
                assert j - i + 1 <= allowed, (j - i + 1, seen[j] - start)
    finally:
        server.shutdown()


def test_stash_down_stops_the_scan_with_the_reason_and_it_resumes(
    library: str, recognizer: Recognizer, tmp_path: Path
) -> None:
    with LibraryStore.in_folder(tmp_path) as store:
        down = scan(store, f"http://127.0.0.1:{free_port()}", recognizer, page_retries_s=(0.1,))
        stopped = down.progress().scan
        assert stopped is not None and stopped.status == "stopped"
        assert stopped.reason is not None and "cannot list scenes" in stopped.reason
        back = scan(store, library, recognizer).progress().scan  # Stash is back: resumed
        assert back is not None and back.id == stopped.id and back.status == "done"
        assert (back.total, back.done, back.failed) == (4, 4, 1)


def test_the_memory_ceiling_pauses_the_scan_after_a_scene(
    library: str, recognizer: Recognizer, tmp_path: Path
) -> None:
    with LibraryStore.in_folder(tmp_path) as store:
        paused = scan(store, library, recognizer, memory_ceiling_mb=1.0).progress()
        assert paused.scan is not None and paused.scan.status == "paused"
        assert paused.scan.reason is not None and "memory ceiling" in paused.scan.reason
        assert paused.scan.done == 1 and paused.scanned_this_run == 1


def test_the_default_ceiling_counts_growth_above_the_first_scenes_not_the_models(
    library: str, recognizer: Recognizer, tmp_path: Path
) -> None:
    """The old default (1,400 MB of total RSS) paused a normal scan whose models and database
    alone came near it; by default the scan now counts growth above its first scenes' RSS."""
    ballast = np.ones(int(max(0.0, 1500 - rss_mb()) * 2**20), np.uint8)  # RSS over 1,400 MB
    assert rss_mb() > 1400
    with LibraryStore.in_folder(tmp_path) as store:
        runner = scan(store, library, recognizer, memory_ceiling_mb=None)
        done = runner.progress().scan
        assert done is not None and done.status == "done" and done.done == 4
    del ballast


def test_by_default_growth_above_the_first_scenes_pauses_the_scan(
    library: str, recognizer: Recognizer, tmp_path: Path
) -> None:
    # the third scene holds 1,100 MB more than the first two (the baseline), over FLOOR_MB too
    use = lend_growing(recognizer, 3, 1100)
    opts = ScanOptions(frames=8, per_page=2, niceness=0)
    with LibraryStore.in_folder(tmp_path) as store:
        runner = LibraryScan(store, StashClient(library), use, opts)
        paused = runner.run()
        assert paused.status == "paused" and paused.done == 3
        assert paused.reason is not None and paused.reason.startswith("memory ceiling: ")
