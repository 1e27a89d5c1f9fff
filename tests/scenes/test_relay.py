"""The loopback relay: decoders read a Stash stream that needs an API key without ever seeing it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from stash_sense.scenes import video
from stash_sense.scenes.containers import container_of as relay_container
from stash_sense.scenes.relay import HeaderRelay, decoder_source
from stash_sense.scenes.video import frames_at, probe_duration
from stash_sense_devkit.standins.elsewhere import CountingServer
from stash_sense_devkit.standins.hostile_stash import dash_manifest
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


def test_local_files_are_left_alone_and_every_url_is_relayed(stash: str) -> None:
    with decoder_source("/videos/a.mp4", {"ApiKey": KEY}) as src:
        assert src.target == "/videos/a.mp4" and src.local and src.env is None
    with decoder_source(f"{stash}/scene/1/stream", {"ApiKey": KEY}) as src:
        assert src.target.startswith("http://stash-sense-relay.invalid/") and not src.local
        assert stash.removeprefix("http://") not in src.target and src.container == "mov"
        assert src.env is not None and src.env["http_proxy"].startswith("http://relay:")
        assert KEY not in " ".join(src.env.values())


@pytest.mark.parametrize("method", ["seek", "opencv", "batch"])
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


@pytest.mark.parametrize("method", ["seek", "opencv", "batch"])
def test_a_dash_manifest_served_as_video_reaches_no_other_host(
    data_dir: Path, method: video.Method
) -> None:
    other = CountingServer((data_dir / "scenes" / "scene-1" / "scene.mp4").read_bytes())
    manifest = CountingServer(dash_manifest(other.url).encode(), "video/mp4")
    try:
        with pytest.raises(video.FrameError, match="not a video container"):
            frames_at(f"{manifest.url}/stream", [1.0, 2.0], method=method)
        with pytest.raises(video.FrameError, match="cannot read video"):
            probe_duration(f"{manifest.url}/stream")
        assert manifest.hits and other.hits == []
    finally:
        manifest.close()
        other.close()


def test_only_recognised_containers_pass(data_dir: Path) -> None:
    mp4 = (data_dir / "scenes" / "scene-1" / "scene.mp4").read_bytes()
    for body, kind in ((b"\x00" * 5000, "video/mp4"), (b"#EXTM3U\n" * 100, "video/mp4"),
                       (b"<html>" + b" " * 5000, "video/mp4"), (mp4, "text/plain")):  # fmt: skip
        upstream = CountingServer(body, kind)
        relay = HeaderRelay()
        try:
            got = httpx.get(relay.url_for(upstream.url + "/v", {}))
            assert got.status_code == 502, (body[:10], kind)
            with pytest.raises(video.FrameError):
                relay.register(upstream.url + "/v", {})
        finally:
            relay.close()
            upstream.close()
    assert relay_container(mp4) == "mov"


@pytest.mark.parametrize("method", ["seek", "batch"])
def test_the_decoders_command_lines_open_nothing_for_another_process(
    stash: str, command_lines: Any, method: video.Method
) -> None:
    """Every URL on an ffmpeg/ffprobe command line is tried by another local process while the
    frames are read: none of them gives the stream (the relay's token is not on one)."""
    import re
    import time

    tried: list[int] = []
    stop = threading.Event()

    def snoop(seen: list[str]) -> None:
        done: set[str] = set()
        while not stop.is_set():
            for line in list(seen):
                for url in re.findall(r"http://\S+", line):
                    if url not in done:
                        done.add(url)
                        try:
                            tried.append(httpx.get(url, timeout=2).status_code)
                        except httpx.HTTPError:
                            tried.append(0)
            time.sleep(0.01)

    with command_lines("ffmpeg", "ffprobe") as seen:
        thief = threading.Thread(target=snoop, args=(seen,))
        thief.start()
        try:
            frames = frames_at(f"{stash}/scene/1/stream", [1.0, 5.0, 9.0],
                               headers={"ApiKey": KEY}, method=method)  # fmt: skip
        finally:
            stop.set()
            thief.join()
    assert len(frames) == 3
    assert tried and 200 not in tried and 206 not in tried, tried


def test_a_decoder_that_stops_reading_gets_little_more_than_it_read(data_dir: Path) -> None:
    """A decoder reads fast, then seeks (stops reading, closes): what the relay had handed the
    kernel for it by then was copied for nothing. Left to the kernel's autotuning that was 3.7
    MB here (391 MB for 40 keyframes of the 20-minute benchmark video); now SEND_BUFFER."""
    import socket
    import time

    mp4 = (data_dir / "scenes" / "scene-1" / "scene.mp4").read_bytes()
    upstream = CountingServer(mp4 + bytes(24 * 1024 * 1024), "video/mp4")
    relay = HeaderRelay()
    client = socket.socket()
    try:
        token = relay.url_for(upstream.url + "/v", {}).rsplit("/", 1)[1]
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        client.connect(("127.0.0.1", relay.port))
        client.sendall(f"GET /{token} HTTP/1.1\r\nHost: relay\r\n\r\n".encode())
        read = 0
        while read < 4 * 1024 * 1024:
            read += len(client.recv(1 << 20))
        time.sleep(0.5)  # the decoder has stopped reading; the relay writes what it may
        ahead = relay.bytes_sent - read
        assert 0 <= ahead < 1024 * 1024, ahead
    finally:
        client.close()
        relay.close()
        upstream.close()
