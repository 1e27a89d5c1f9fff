"""A password in STASH_SENSE_STASH_URL (`http://user:pass@host`) becomes HTTP Basic credentials
sent to that Stash only, and shows in no answer (`/status`, a 400) and no log line."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sidecarproc import Sidecar, start_sidecar

PASSWORD = "pass-w0rd-4242"


class Spy:
    """A stand-in for Stash that records the Authorization headers and answers no scene."""

    def __init__(self) -> None:
        self.seen: list[str | None] = []
        spy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # http.server calls do_<METHOD>
                spy.seen.append(self.headers.get("Authorization"))
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                body = b'{"data": {"findScene": null}}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture(scope="module")
def spy() -> Iterator[Spy]:
    running = Spy()
    yield running
    running.server.shutdown()
    running.server.server_close()


@pytest.fixture(scope="module")
def sidecar(
    test_db: dict[str, Any], spy: Spy, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Sidecar]:
    with_userinfo = spy.url.replace("http://", f"http://stash-user:{PASSWORD}@")
    data = tmp_path_factory.mktemp("userinfo")
    running = start_sidecar(Path(test_db["db"]), with_userinfo, data, "--workers", "1")
    try:
        yield running
    finally:
        running.stop()


def test_the_password_is_a_credential_for_stash_only(sidecar: Sidecar, spy: Spy) -> None:
    with sidecar.client() as c:
        missing = c.post("/identify/scene", json={"scene_id": "404"})
        status = c.get("/status")
        refused = c.post("/identify", json={"url": "http://elsewhere.invalid/face.jpg"})
    assert missing.status_code == 404, missing.text
    expected = "Basic " + base64.b64encode(f"stash-user:{PASSWORD}".encode()).decode()
    assert spy.seen and set(spy.seen) == {expected}
    assert status.status_code == 200 and status.json()["stash"] == spy.url
    assert refused.status_code == 400 and spy.url in refused.json()["error"]
    for answer in (missing, status, refused):
        assert PASSWORD not in answer.text and "stash-user" not in answer.text
    assert PASSWORD not in sidecar.log.read_text()


def test_the_allowed_origin_is_the_stash_origin(sidecar: Sidecar, spy: Spy) -> None:
    origin = f"http://{urlsplit(spy.url).netloc}"
    r = httpx.options(
        sidecar.url + "/identify",
        headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
    )
    assert r.headers.get("access-control-allow-origin") == origin
