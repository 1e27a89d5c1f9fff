"""The sidecar's log as an operator reads it: a request whose client hung up still gets its one
line (uvicorn writes none for an answer nobody reads), without a traceback or the API key; every
line starts with its time (ISO 8601, UTC)."""

from __future__ import annotations

import re
import socket
import time
from datetime import UTC, datetime, timedelta

from sidecarproc import API_KEY, Sidecar


def _hang_up(sidecar: Sidecar, head: str, body: bytes, wait_s: float) -> None:
    host, port = sidecar.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head.encode() + body)
        time.sleep(wait_s)


def _lines_when(sidecar: Sidecar, offset: int, needle: str) -> list[str]:
    deadline = time.monotonic() + 120  # a scene notices the hang-up between frames
    while True:
        lines = sidecar.log.read_bytes()[offset:].decode(errors="replace").splitlines()
        if any(needle in line for line in lines) or time.monotonic() > deadline:
            return lines


def test_a_scene_whose_client_hung_up_has_one_line(sidecar: Sidecar) -> None:
    with sidecar.client() as c:  # an answered scene first (it also loads the models)
        assert c.post("/identify/scene", json={"scene_id": "2", "frames": 4}).status_code == 200
    offset = sidecar.log.stat().st_size
    body = b'{"scene_id": "2", "frames": 60, "source": "video"}'
    head = (
        f"POST /identify/scene HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {API_KEY}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    _hang_up(sidecar, head, body, 0.5)
    lines = _lines_when(sidecar, offset, "/identify/scene")
    mine = [line for line in lines if "/identify/scene" in line]
    assert len(mine) == 1 and '"POST /identify/scene" 499 cancelled' in mine[0], lines
    assert not any("Traceback" in line or API_KEY in line for line in lines), lines


def test_an_upload_cut_halfway_has_one_line(sidecar: Sidecar) -> None:
    offset = sidecar.log.stat().st_size
    head = (
        f"POST /identify HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {API_KEY}\r\n"
        "Content-Type: image/jpeg\r\nContent-Length: 3000000\r\n\r\n"
    )
    _hang_up(sidecar, head, b"\xff\xd8" + b"\0" * 200_000, 0.3)
    lines = _lines_when(sidecar, offset, "/identify")
    mine = [line for line in lines if "/identify" in line]
    assert len(mine) == 1 and '"POST /identify" 499 cancelled' in mine[0], lines
    assert not any("Traceback" in line or API_KEY in line for line in lines), lines


def test_every_log_line_starts_with_its_time_in_utc(sidecar: Sidecar) -> None:
    offset = sidecar.log.stat().st_size
    with sidecar.client() as c:
        assert c.get("/health").status_code == 200
    lines = _lines_when(sidecar, offset, '"GET /health')
    started = [ln for ln in sidecar.log.read_text(errors="replace").splitlines() if "Uvicorn" in ln]
    stamp = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (INFO|WARNING|ERROR)")
    for line in [*started, *(ln for ln in lines if '"GET /health' in ln)]:
        assert stamp.match(line), line
        when = datetime.fromisoformat(line.split(" ", 1)[0])
        assert abs(when - datetime.now(UTC)) < timedelta(hours=1), line  # UTC, not local time
    assert started and lines
