"""The sidecar under stress and misuse: huge uploads, malformed JSON, a full queue, clients that
hang up, a database reload mid-request, CORS, an unreachable Stash and a missing database."""

from __future__ import annotations

import concurrent.futures
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from sidecarproc import API_KEY, Sidecar, start_sidecar

from stash_sense_devkit.standins.launch import free_port

TWO_GB = 2 * 1024**3


def _raw_request(sidecar: Sidecar, head: str) -> socket.socket:
    host, port = sidecar.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.sendall(head.encode())
    return sock


def _read_status(sock: socket.socket) -> tuple[int, bytes]:
    """Status and whole answer (the server closes the connection after refusing a body)."""
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            break
        if not chunk:
            break
        data += chunk
    return int(data.split(b" ", 2)[1]), data


def test_a_declared_2gb_upload_is_refused_before_reading(sidecar: Sidecar) -> None:
    rss_before = psutil.Process(sidecar.proc.pid).memory_info().rss
    started = time.monotonic()
    sock = _raw_request(
        sidecar,
        f"POST /identify HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {API_KEY}\r\n"
        f"Content-Type: application/octet-stream\r\nContent-Length: {TWO_GB}\r\n\r\n",
    )
    try:
        sock.sendall(b"\0" * 65536)
        status, data = _read_status(sock)
    finally:
        sock.close()
    assert status == 413, data
    assert b"larger than the limit" in data
    assert time.monotonic() - started < 5
    grown = psutil.Process(sidecar.proc.pid).memory_info().rss - rss_before
    assert grown < 50 * 1024**2


def test_a_streamed_chunked_upload_is_cut_off_at_the_limit(sidecar: Sidecar) -> None:
    rss_before = psutil.Process(sidecar.proc.pid).memory_info().rss
    sock = _raw_request(
        sidecar,
        f"POST /identify HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {API_KEY}\r\n"
        "Content-Type: image/jpeg\r\nTransfer-Encoding: chunked\r\n\r\n",
    )
    chunk = b"\0" * (1024 * 1024)
    sent = 0
    status = 0
    try:
        sock.settimeout(0.05)
        while sent < TWO_GB:
            try:
                sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
                sent += len(chunk)
            except (BrokenPipeError, ConnectionResetError, TimeoutError):
                break
            try:
                if sock.recv(1, socket.MSG_PEEK):
                    break
            except (BlockingIOError, TimeoutError):
                continue
        sock.settimeout(10)
        status, data = _read_status(sock)
    finally:
        sock.close()
    assert status == 413, data
    assert sent < 64 * 1024 * 1024, f"the server read {sent} bytes before refusing"
    grown = psutil.Process(sidecar.proc.pid).memory_info().rss - rss_before
    assert grown < 50 * 1024**2


def test_malformed_json_and_wrong_shapes(sidecar: Sidecar) -> None:
    with sidecar.client() as c:
        for path in ("/identify/scene", "/feedback", "/identify", "/database/reload"):
            r = c.post(path, content=b'{"scene_id": ', headers={"Content-Type": "application/json"})
            assert r.status_code == 400, (path, r.text)
            assert r.json()["error"].startswith("malformed JSON"), r.text
        listed = c.post("/identify/scene", json=[1, 2])
        assert listed.status_code == 400 and "object" in listed.json()["error"]
        unknown = c.get("/nope")
        assert unknown.status_code == 404 and set(unknown.json()) == {"error"}


def test_a_full_queue_answers_503_with_retry_after(sidecar: Sidecar) -> None:
    """One worker and one waiting slot: of four scene jobs sent at once, some are turned away."""

    def one(_: int) -> httpx.Response:
        with sidecar.client() as c:
            return c.post("/identify/scene", json={"scene_id": "2", "frames": 12})

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(one, range(4)))
    codes = sorted(r.status_code for r in answers)
    assert codes.count(200) >= 2 and codes.count(503) >= 1, codes
    busy = next(r for r in answers if r.status_code == 503)
    assert busy.headers["Retry-After"].isdigit()
    assert busy.json()["error"].startswith("busy")


def _jobs(sidecar: Sidecar) -> dict[str, int]:
    with sidecar.client() as c:
        stats: dict[str, int] = c.get("/status").json()["jobs"]
    return stats


def test_a_client_that_hangs_up_cancels_its_job(sidecar: Sidecar) -> None:
    before = _jobs(sidecar)["cancelled"]
    body = b'{"scene_id": "2", "frames": 60, "source": "video"}'
    sock = _raw_request(
        sidecar,
        f"POST /identify/scene HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {API_KEY}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n",
    )
    sock.sendall(body)
    time.sleep(0.5)
    sock.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        stats = _jobs(sidecar)
        if stats["cancelled"] > before and stats["running"] == 0:
            break
        time.sleep(0.2)
    assert stats["cancelled"] == before + 1, stats
    assert stats["running"] == 0


def test_reload_swaps_the_database_without_failing_requests_in_flight(
    sidecar: Sidecar, test_db: dict[str, Any]
) -> None:
    with concurrent.futures.ThreadPoolExecutor(1) as pool, sidecar.client() as c:
        scene = pool.submit(
            lambda: sidecar.client().post("/identify/scene", json={"scene_id": "2", "frames": 6})
        )
        time.sleep(0.3)
        reloaded = c.post("/database/reload", json={"path": test_db["db"]})
        assert reloaded.status_code == 200, reloaded.text
        assert reloaded.json()["counts"]["performers"] == 8
        answer = scene.result(timeout=120)
        assert answer.status_code == 200, answer.text
        assert answer.json()["persons"]
        bad = c.post("/database/reload", json={"path": "/nonexistent/db"})
        assert bad.status_code == 400 and "no database folder" in bad.json()["error"]
        still = c.post("/identify/scene", json={"scene_id": "4", "frames": 2})
        assert still.status_code == 200


def test_cors_allows_the_stash_origin_only(sidecar: Sidecar, stash_url: str) -> None:
    def preflight(origin: str) -> httpx.Response:
        return httpx.options(
            sidecar.url + "/identify/scene",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type,x-api-key",
            },
        )

    ok = preflight(stash_url)
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == stash_url
    assert "x-api-key" in ok.headers["access-control-allow-headers"].lower()
    evil = preflight("http://evil.example")
    assert "access-control-allow-origin" not in evil.headers
    refused = httpx.get(sidecar.url + "/feedback", headers={"Origin": stash_url})
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == stash_url


@pytest.fixture(scope="module")
def lonely_sidecar(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sidecar]:
    """A sidecar whose database folder does not exist and whose Stash is not running."""
    data = tmp_path_factory.mktemp("lonely")
    dead = f"http://127.0.0.1:{free_port()}"
    running = start_sidecar(data / "no-db", dead, data)
    try:
        yield running
    finally:
        running.stop()


def test_missing_database_then_unreachable_stash(
    lonely_sidecar: Sidecar, test_db: dict[str, Any], data_dir: Path
) -> None:
    health = httpx.get(lonely_sidecar.url + "/health").json()
    assert health["status"] == "degraded" and health["database"]["loaded"] is False
    with lonely_sidecar.client() as c:
        assert "no-db" in c.get("/status").json()["database"]["error"]
    photo = data_dir / "faces" / "lfw-dev" / "Monica_Seles" / "1.jpg"
    with lonely_sidecar.client() as c:
        r = c.post("/identify", content=photo.read_bytes(), headers={"Content-Type": "image/jpeg"})
        assert r.status_code == 503 and "database" in r.json()["error"]
        # the database arrives at the configured path; a reload picks it up
        shutil.copytree(test_db["db"], lonely_sidecar.log.parent / "no-db", symlinks=True)
        assert c.post("/database/reload", json={}).status_code == 200
        assert httpx.get(lonely_sidecar.url + "/health").json()["database"]["loaded"] is True
        r = c.post("/identify/scene", json={"scene_id": "1"})
        assert r.status_code == 502, r.text
        assert r.json()["error"].startswith("cannot reach Stash")
        assert "Traceback" not in r.text


def test_slow_uploads_do_not_take_the_job_slots(sidecar: Sidecar, data_dir: Path) -> None:
    """A body is admitted once it has arrived: uploads still dribbling in (one worker, one
    waiting place here) once took every slot, and every other client got 503."""
    photo = (data_dir / "faces" / "lfw-dev" / "Monica_Seles" / "1.jpg").read_bytes()
    slow = []
    for _ in range(4):
        sock = _raw_request(
            sidecar,
            f"POST /identify HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {API_KEY}\r\n"
            f"Content-Type: image/jpeg\r\nContent-Length: {len(photo)}\r\n\r\n",
        )
        sock.sendall(photo[:1000])
        slow.append(sock)
    try:
        time.sleep(0.5)
        with sidecar.client() as c:
            codes = []
            for _ in range(4):
                r = c.post("/identify", content=photo, headers={"Content-Type": "image/jpeg"})
                codes.append(r.status_code)
        assert codes == [200] * 4, codes
    finally:
        for sock in slow:
            sock.close()


def test_uploads_arriving_at_once_are_bounded_per_client(sidecar: Sidecar) -> None:
    """Bodies still arriving reserve their declared size: one client may have half of the
    receive budget (2 bodies at the 4 MB limit here) arriving at once; the next is turned away."""
    declared = 4 * 1024 * 1024
    head = (
        f"POST /identify HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {API_KEY}\r\n"
        f"Content-Type: image/jpeg\r\nContent-Length: {declared}\r\n\r\n"
    )
    slow = [_raw_request(sidecar, head) for _ in range(2)]
    try:
        for sock in slow:
            sock.sendall(b"\xff\xd8" + b"\0" * 1000)
        time.sleep(0.5)
        extra = _raw_request(sidecar, head)
        try:
            extra.sendall(b"\0" * declared)
            status, data = _read_status(extra)
        finally:
            extra.close()
        assert status == 503 and b"too many uploads" in data, data
    finally:
        for sock in slow:
            sock.close()
    time.sleep(0.5)
    with sidecar.client() as c:  # the reservations are given back when the clients leave
        assert (
            c.post("/identify", content=b"x", headers={"Content-Type": "image/jpeg"}).status_code
            == 422
        )
