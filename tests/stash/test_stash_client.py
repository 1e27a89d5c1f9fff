"""The Stash client against the real stand-in over HTTP: scenes, performers, files, and refusals."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from standin import gql, start_stand_in, stop

from stash_sense.sources.stash import OffHostError, StashClient, StashError
from stash_sense_devkit.standins.launch import free_port

CREATE = """
mutation C($input: PerformerCreateInput!) { performerCreate(input: $input) { id } }
"""
SCENE_UPDATE = """
mutation U($input: SceneUpdateInput!) { sceneUpdate(input: $input) { id } }
"""
STASHDB = "https://stashdb.org/graphql"


def test_find_scene_with_sprite_vtt_stream_and_performers(stand_in: str) -> None:
    pid = gql(
        stand_in,
        CREATE,
        {"input": {"name": "Monica Seles", "stash_ids": [{"endpoint": STASHDB, "stash_id": "m1"}]}},
    )["performerCreate"]["id"]
    gql(stand_in, SCENE_UPDATE, {"input": {"id": "1", "performer_ids": [pid]}})
    with StashClient(stand_in) as client:
        scene = client.find_scene("1")
        assert scene is not None
        assert scene.sprite and scene.vtt and scene.stream
        assert client.is_on_host(scene.sprite)
        assert scene.files[0].duration == pytest.approx(14.0, abs=0.2)
        assert scene.files[0].width == 1280
        assert [(p.name, [s.stash_id for s in p.stash_ids]) for p in scene.performers] == [
            ("Monica Seles", ["m1"])
        ]
        assert client.fetch(scene.vtt).startswith(b"WEBVTT")
        assert client.fetch(scene.sprite)[:2] == b"\xff\xd8"
        found = client.performer_by_stash_id(STASHDB, "m1")
        assert found is not None and found.id == pid
        assert client.performer_by_stash_id(STASHDB, "nobody") is None


def test_scene_without_sprite_and_unknown_scene(stand_in: str) -> None:
    with StashClient(stand_in) as client:
        scene = client.find_scene("2")
        assert scene is not None and scene.sprite is None and scene.vtt is None
        assert scene.stream is not None
        assert client.resolve(scene.stream).endswith("/scene/2/stream")
        assert client.find_scene("404") is None
        assert client.find_performer("999") is None


def test_refuses_other_hosts(stand_in: str) -> None:
    with StashClient(stand_in) as client:
        for url in ("http://169.254.169.254/latest/meta-data", "file:///etc/passwd"):
            with pytest.raises(OffHostError):
                client.fetch(url)
        other_port = stand_in.rsplit(":", 1)[0] + ":1"
        with pytest.raises(OffHostError):
            client.fetch(other_port + "/scene/1/vtt/thumbs")


class _Redirector(http.server.BaseHTTPRequestHandler):
    target = ""

    def do_GET(self) -> None:
        self.send_response(302)
        self.send_header("Location", self.target if "away" in self.path else "/away")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture()
def redirecting_stash() -> Iterator[str]:
    """A real HTTP server that redirects /x to /away and /away to another host."""
    _Redirector.target = "http://example.invalid/secret"
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), _Redirector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_redirects_are_followed_only_on_the_host(redirecting_stash: str) -> None:
    with StashClient(redirecting_stash) as client:
        with pytest.raises(OffHostError, match=r"example\.invalid"):
            client.fetch("/x")
        with pytest.raises(OffHostError):
            client.resolve("/x")


def test_unreachable_stash_and_bad_url() -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    with StashClient(dead, timeout=2) as client, pytest.raises(StashError, match="cannot reach"):
        client.find_scene("1")
    with pytest.raises(StashError, match="http"):
        StashClient("ftp://stash.local")


def test_api_key_required_by_the_stand_in(stash_scenes: Path) -> None:
    proc, url = start_stand_in(stash_scenes, "--api-key", "sekrit")
    try:
        with StashClient(url, "wrong") as client, pytest.raises(StashError, match="API key"):
            client.find_scene("1")
        with StashClient(url, "sekrit") as client:
            scene = client.find_scene("1")
            assert scene is not None and scene.vtt is not None
            assert client.fetch(scene.vtt).startswith(b"WEBVTT")
    finally:
        stop(proc)


def test_dev_stash_command_rejects_a_missing_folder(tmp_path: Path) -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "stash_sense_devkit.cli", "stash", "--scenes",
         str(tmp_path / "nope")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith("error: scenes folder not found")
