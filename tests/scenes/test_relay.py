"""The loopback relay: decoders read a Stash stream that needs an API key without ever seeing it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from stash_sense.scenes import video
from stash_sense.scenes.relay import HeaderRelay, decoder_source
from stash_sense.scenes.video import frames_at, probe_duration
from stash_sense_devkit.standins.launch import serve_in_subprocess

KEY = "relay-test-secret-key"


@pytest.fixture(scope="module")
def stash(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Iterator[str]:
    """The Stash stand-in (a uvicorn child process) serving eval scene-1, API key required."""
    scenes = tmp_path_factory.mktemp("relay-scenes")
    (scenes / "scene-1").symlink_to(data_dir / "scenes" / "scene-1")
    with serve_in_subprocess("stash", ["--scenes", str(scenes), "--api-key", KEY]) as url:
        yield url


def test_the_stream_needs_the_key(stash: str) -> None:
    refused = httpx.get(f"{stash}/scene/1/stream")  # as real Stash: off to its login page
    assert refused.status_code == 302 and refused.headers["location"].startswith("/login?")
    assert httpx.get(f"{stash}/scene/1/stream", headers={"ApiKey": KEY}).status_code == 200


def test_relay_adds_the_key_and_passes_ranges(stash: str, data_dir: Path) -> None:
    whole = (data_dir / "scenes" / "scene-1" / "scene.mp4").read_bytes()
    relay = HeaderRelay()
    try:
        url = relay.url_for(f"{stash}/scene/1/stream", {"ApiKey": KEY})
        assert url.startswith("http://127.0.0.1:") and KEY not in url
        got = httpx.get(url)
        assert got.status_code == 200 and got.content == whole
        part = httpx.get(url, headers={"Range": "bytes=100-199"})
        assert part.status_code == 206 and part.content == whole[100:200]
        assert part.headers["content-range"] == f"bytes 100-199/{len(whole)}"
        direct = httpx.head(f"{stash}/scene/1/stream", headers={"ApiKey": KEY})
        assert httpx.head(url).status_code == direct.status_code  # the stand-in: GET only
        # nothing but the registered stream is reachable through it
        base = url.rsplit("/", 1)[0]
        assert httpx.get(f"{base}/graphql").status_code == 404
        assert httpx.get(f"{base}/").status_code == 404
    finally:
        relay.close()
    with pytest.raises(httpx.TransportError):
        httpx.get(url, timeout=2)


def test_local_files_are_left_alone_and_every_url_is_relayed() -> None:
    with decoder_source("/videos/a.mp4", {"ApiKey": KEY}) as src:
        assert src == "/videos/a.mp4"
    with decoder_source("http://stash:9999/scene/1/stream", None) as src:
        assert src.startswith("http://127.0.0.1:") and "stash:9999" not in src


@pytest.mark.parametrize("method", ["seek", "opencv"])
def test_frames_through_the_relay_with_the_key_on_no_command_line(
    stash: str, method: video.Method, command_lines: Any
) -> None:
    source, headers = f"{stash}/scene/1/stream", {"ApiKey": KEY}
    with command_lines("ffmpeg", "ffprobe") as seen:
        duration = probe_duration(source, headers)
        frames = frames_at(source, [1.0, duration / 2, duration - 1.0], headers=headers,
                           method=method)  # fmt: skip
    assert 10 < duration < 30
    assert len(frames) == 3 and all(f.image.shape[1] == 1280 for f in frames)
    assert seen, "ffprobe ran and was seen"
    assert not [c for c in seen if KEY in c]


def test_a_wrong_key_is_a_clear_error(stash: str) -> None:
    with pytest.raises(video.FrameError, match="cannot read video"):
        probe_duration(f"{stash}/scene/1/stream", {"ApiKey": "wrong"})
    with pytest.raises(video.FrameError, match="could not read any frame"):
        frames_at(f"{stash}/scene/1/stream", [1.0], headers={"ApiKey": "wrong"})


def test_a_redirect_is_not_followed() -> None:
    """The relay reaches only the registered URL: an upstream redirect ends as a 502."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    asked: list[str] = []

    class Redirecting(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # http.server calls do_<METHOD>
            asked.append(self.headers.get("ApiKey", ""))
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    upstream = ThreadingHTTPServer(("127.0.0.1", 0), Redirecting)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    relay = HeaderRelay()
    try:
        port = upstream.server_address[1]
        url = relay.url_for(f"http://127.0.0.1:{port}/stream", {"ApiKey": KEY})
        got = httpx.get(url)
        assert got.status_code == 502 and "redirect" in got.text
        assert asked == [KEY]
    finally:
        relay.close()
        upstream.shutdown()
        upstream.server_close()
