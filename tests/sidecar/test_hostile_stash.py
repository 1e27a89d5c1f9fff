"""The sidecar against a hostile Stash (stash_sense_devkit.standins.hostile_stash): playlists
that lead to other hosts or to local files, a stream that redirects once checked, a huge sprite, a
VTT with thousands of cues, and a Stash that puts its API key in the stream URL. Every byte the
decoders read must come from the Stash host, and no key may show in an answer, a log line or a
command line."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from sidecarproc import Sidecar, start_sidecar

from stash_sense.scenes.video import _tool
from stash_sense_devkit.standins.elsewhere import CountingServer
from stash_sense_devkit.standins.hostile_stash import hostile_stash_app
from stash_sense_devkit.standins.launch import serve_in_thread

STASH_KEY = "stash-secret-key-4242"


Canary = CountingServer  # another host: serves a video segment with a face to anyone


@pytest.fixture(scope="module")
def segment(scenes: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Scene 2's video (Monica Seles, Tommy Thompson) as one MPEG-TS segment, a local file."""
    out = tmp_path_factory.mktemp("segment") / "private.ts"
    subprocess.run(
        [_tool("ffmpeg"), "-v", "error", "-i", str(scenes / "scene-2" / "scene.mp4"),
         "-c", "copy", "-f", "mpegts", str(out)],
        check=True, timeout=60,
    )  # fmt: skip
    return out


@pytest.fixture(scope="module")
def canary(segment: Path) -> Iterator[Canary]:
    running = Canary(segment.read_bytes())
    try:
        yield running
    finally:
        running.close()


@pytest.fixture(scope="module")
def hostile_scenes(scenes: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Scene folders 2 and 11-19, each with scene 2's video; 15 and 16 with a sprite and VTT."""
    base = tmp_path_factory.mktemp("hostile-scenes")
    for scene_id in (2, *range(11, 20)):
        folder = base / f"scene-{scene_id}"
        folder.mkdir()
        (folder / "scene.mp4").symlink_to(scenes / "scene-2" / "scene.mp4")
    for scene_id in (15, 16):
        folder = base / f"scene-{scene_id}"
        (folder / "scene_sprite.jpg").symlink_to(scenes / "scene-5" / "scene_sprite.jpg")
        (folder / "scene_thumbs.vtt").symlink_to(next((scenes / "scene-5").glob("*.vtt")))
    return base


def _hostile(hostile_scenes: Path, canary: Canary, segment: Path, key: str | None) -> Iterator[str]:
    app = hostile_stash_app(hostile_scenes, elsewhere=canary.url, local_file=segment, api_key=key)
    with serve_in_thread(app) as url:
        yield url


@pytest.fixture(scope="module")
def open_stash(hostile_scenes: Path, canary: Canary, segment: Path) -> Iterator[str]:
    """The hostile Stash without an API key."""
    yield from _hostile(hostile_scenes, canary, segment, None)


@pytest.fixture(scope="module")
def keyed_stash(hostile_scenes: Path, canary: Canary, segment: Path) -> Iterator[str]:
    """The hostile Stash with an API key (which it puts into `paths.stream`, as Stash does)."""
    yield from _hostile(hostile_scenes, canary, segment, STASH_KEY)


def _sidecar(db: str, stash: str, data: Path, key: str | None = None) -> Iterator[Sidecar]:
    env = {"STASH_SENSE_STASH_API_KEY": key} if key else {}
    running = start_sidecar(Path(db), stash, data, "--workers", "1", env=env)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def open_sidecar(
    test_db: dict[str, str], open_stash: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Sidecar]:
    yield from _sidecar(test_db["db"], open_stash, tmp_path_factory.mktemp("hostile-open"))


@pytest.fixture(scope="module")
def keyed_sidecar(
    test_db: dict[str, str], keyed_stash: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Sidecar]:
    data = tmp_path_factory.mktemp("hostile-keyed")
    yield from _sidecar(test_db["db"], keyed_stash, data, STASH_KEY)


def _scene(sidecar: Sidecar, scene_id: str, **options: object) -> httpx.Response:
    with sidecar.client(timeout=180) as c:
        return c.post("/identify/scene", json={"scene_id": scene_id, **options})


@pytest.mark.parametrize("scene_id", ["11", "13"], ids=["hls-playlist", "hls-as-video-mp4"])
def test_a_playlist_to_another_host_is_not_followed(
    open_sidecar: Sidecar, canary: Canary, scene_id: str
) -> None:
    before = len(canary.hits)
    r = _scene(open_sidecar, scene_id, source="video", frames=4)
    assert r.status_code == 422, r.text
    assert "could not read any frame" in r.json()["error"]
    assert canary.hits[before:] == []


def test_a_playlist_to_a_local_file_is_not_followed(open_sidecar: Sidecar) -> None:
    r = _scene(open_sidecar, "12", source="video", frames=4)
    assert r.status_code == 422, r.text
    assert "persons" not in r.json()


def test_a_redirect_on_a_later_request_is_not_followed(
    open_sidecar: Sidecar, open_stash: str, canary: Canary
) -> None:
    before = len(canary.hits)
    r = _scene(open_sidecar, "14", source="video", frames=4)
    assert httpx.get(open_stash + "/__asked").json()["14"] >= 2, "the stream was read again"
    assert r.status_code == 422, r.text
    assert canary.hits[before:] == []


def test_a_huge_sprite_is_refused_before_decoding(open_sidecar: Sidecar) -> None:
    started = time.monotonic()
    r = _scene(open_sidecar, "15", source="sprite")
    assert r.status_code == 422, r.text
    assert "too many pixels" in r.json()["error"]
    assert time.monotonic() - started < 10
    fallback = _scene(open_sidecar, "15", frames=4)
    assert fallback.status_code == 200, fallback.text
    assert fallback.json()["source"] == "video" and "too many pixels" in fallback.json()["notes"][0]


def test_a_vtt_with_thousands_of_cues_is_refused(open_sidecar: Sidecar) -> None:
    r = _scene(open_sidecar, "16", source="sprite")
    assert r.status_code == 422, r.text
    assert "more than 1000 cues" in r.json()["error"]


def test_the_stash_key_shows_in_no_answer_log_or_command_line(
    keyed_sidecar: Sidecar, keyed_stash: str, command_lines: Any
) -> None:
    found = httpx.post(
        keyed_stash + "/graphql",
        json={"query": '{ findScene(id: "17") { paths { stream } } }'},
        headers={"ApiKey": STASH_KEY},
    ).json()
    assert found["data"]["findScene"]["paths"]["stream"].endswith(f"?apikey={STASH_KEY}")
    missing = _scene(keyed_sidecar, "17", source="video", frames=2)
    assert missing.status_code in (422, 502), missing.text
    assert "HTTP 404" in missing.text and "apikey=***" in missing.text
    with command_lines("ffmpeg", "ffprobe", "stash-sense") as seen:
        ok = _scene(keyed_sidecar, "2", source="video", frames=4)
        seek = _scene(keyed_sidecar, "11", source="video", frames=2)
    assert ok.status_code == 200 and ok.json()["persons"], ok.text
    assert seek.status_code == 422
    for answer in (missing, ok, seek):
        assert STASH_KEY not in answer.text
    assert seen and not [c for c in seen if STASH_KEY in c]
    assert STASH_KEY not in keyed_sidecar.log.read_text()


def test_huge_video_frames_are_refused_before_decoding(open_sidecar: Sidecar) -> None:
    """Three 16000 x 16000 PNG frames in a 0.7 MB mkv once took the sidecar to 4.6 GB."""
    proc = psutil.Process(open_sidecar.proc.pid)
    rss = proc.memory_info().rss
    started = time.monotonic()
    r = _scene(open_sidecar, "18", source="video", frames=3)
    assert r.status_code == 422, r.text
    assert "16000x16000: too many pixels" in r.json()["error"]
    assert time.monotonic() - started < 30
    assert proc.memory_info().rss - rss < 100 * 1024**2
    peak = _peak_rss(open_sidecar)
    print(f"hostile-Stash sidecar peak RSS: {peak / 2**20:.0f} MB")
    assert peak < PEAK_RSS_LIMIT


def test_a_dash_manifest_behind_a_doctype_reaches_no_other_host(
    open_sidecar: Sidecar, canary: Canary
) -> None:
    before = len(canary.hits)
    r = _scene(open_sidecar, "19", source="video", frames=4)
    assert r.status_code == 422, r.text
    assert "not a video container" in r.json()["error"]
    assert canary.hits[before:] == []


#: The sidecar's peak resident memory over the whole hostile run (issue 20: below 1.5 GB).
PEAK_RSS_LIMIT = 1536 * 1024**2


def _peak_rss(sidecar: Sidecar) -> int:
    """VmHWM: the largest resident set the process has had since it started."""
    for line in Path(f"/proc/{sidecar.proc.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc/<pid>/status")


def test_a_huge_graphql_answer_is_cut_at_the_cap(open_sidecar: Sidecar) -> None:
    """A 2 GiB answer to findScene once took the sidecar's memory to 2.1 GB."""
    before = _peak_rss(open_sidecar)
    started = time.monotonic()
    r = _scene(open_sidecar, "20", frames=2)
    assert r.status_code == 502, r.text
    assert "byte cap" in r.json()["error"]
    assert time.monotonic() - started < 30
    assert _peak_rss(open_sidecar) - before < 256 * 1024 * 1024


def test_a_trickled_graphql_answer_ends_at_the_deadline(open_sidecar: Sidecar) -> None:
    """An answer trickled at 1 byte/s once held the only worker for 76 s."""
    started = time.monotonic()
    r = _scene(open_sidecar, "21", frames=2)
    took = time.monotonic() - started
    assert r.status_code == 502, r.text
    assert "no complete answer within 20s" in r.json()["error"]
    assert took < 20 + 10, f"took {took:.0f}s"
    with open_sidecar.client() as c:  # the worker is free again
        assert c.get("/health").status_code == 200
