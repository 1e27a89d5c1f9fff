"""The sidecar against hostile clients: web pages on other origins (in Chromium), Host spoofing,
slow headers and bodies, pixel and JSON bombs, oversize fields, clients that hang up mid-upload,
a read-only or full data folder, and the places a secret could leak (access log, `ps`)."""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil
import pytest
from PIL import Image
from sidecarproc import API_KEY, Sidecar, start_sidecar

HERE = Path(__file__).resolve().parent
PLAYWRIGHT = HERE.parents[1] / "plugin" / "tests" / "node_modules" / "playwright-core"


def _raw(sidecar: Sidecar, data: bytes) -> socket.socket:
    host, port = sidecar.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=30)
    sock.sendall(data)
    return sock


def _log_since(sidecar: Sidecar, offset: int) -> str:
    return sidecar.log.read_bytes()[offset:].decode(errors="replace")


@pytest.fixture(scope="module")
def spool_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("spool")


@pytest.fixture(scope="module")
def open_sidecar(
    test_db: dict[str, Any],
    stash_url: str,
    spool_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Sidecar]:
    """No API key (the default), a 64 KB feedback cap, 2 s header/body timeouts, TMPDIR watched."""
    data = tmp_path_factory.mktemp("open-sidecar")
    running = start_sidecar(
        Path(test_db["db"]), stash_url, data, "--feedback-max-mb", "0.0625",
        "--header-timeout", "2", "--body-timeout", "2",
        api_key=None, env={"TMPDIR": str(spool_dir)},
    )  # fmt: skip
    try:
        yield running
    finally:
        running.stop()


class _Page(BaseHTTPRequestHandler):
    html = b""

    def do_GET(self) -> None:  # http.server calls do_<METHOD>
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(self.html)))
        self.end_headers()
        self.wfile.write(self.html)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


EVIL_PAGE = """<!doctype html><script>
const sidecar = %s;
window.outcomes = [];
async function attempt(path, body, headers) {
  try {
    await fetch(sidecar + path, {method: "POST", mode: "no-cors", body, headers});
    window.outcomes.push(path + ": sent");
  } catch (err) { window.outcomes.push(path + ": " + err); }
}
(async () => {
  const row = JSON.stringify({verdict: "accepted", scene_id: "from-evil-page"});
  await attempt("/feedback", row, {"Content-Type": "text/plain"});
  await attempt("/identify/scene", JSON.stringify({scene_id: "2", frames: 2}));
  const form = new FormData();
  form.append("image", new Blob([new Uint8Array([255, 216, 255])], {type: "image/jpeg"}), "a.jpg");
  await attempt("/identify", form);
  await attempt("/database/reload", "{}", {"Content-Type": "application/x-www-form-urlencoded"});
  window.done = true;
})();
</script>"""


def test_pages_on_other_origins_cannot_make_it_work(open_sidecar: Sidecar) -> None:
    node = shutil.which("node")
    if node is None or not PLAYWRIGHT.is_dir():
        pytest.fail("node and plugin/tests/node_modules are needed: run `make node-deps`")
    handler = type(
        "EvilPage", (_Page,), {"html": (EVIL_PAGE % json.dumps(open_sidecar.url)).encode()}
    )
    page = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=page.serve_forever, daemon=True).start()
    offset = open_sidecar.log.stat().st_size
    before = httpx.get(open_sidecar.url + "/status").json()["jobs"]
    try:
        done = subprocess.run(
            [node, str(HERE / "crossorigin.mjs"), f"http://localhost:{page.server_address[1]}/"],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    finally:
        page.shutdown()
        page.server_close()
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)) == 4, done.stdout
    rows = httpx.get(open_sidecar.url + "/feedback").json()["feedback"]
    assert not [r for r in rows if r["scene_id"] == "from-evil-page"]
    after = httpx.get(open_sidecar.url + "/status").json()["jobs"]
    assert after["completed"] == before["completed"] and after["rejected"] == before["rejected"]
    log = _log_since(open_sidecar, offset)
    for path in ("/feedback", "/identify/scene", "/identify", "/database/reload"):
        assert f'"POST {path} HTTP/1.1" 403' in log, log


def test_json_routes_take_json_only(sidecar: Sidecar) -> None:
    row = json.dumps({"verdict": "accepted", "scene_id": "1"})
    with sidecar.client() as c:
        for kind in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
            for path in ("/feedback", "/identify/scene", "/database/reload"):
                r = c.post(path, content=row, headers={"Content-Type": kind})
                assert r.status_code in (400, 415), (path, kind, r.text)
        r = c.post(
            "/identify", content=json.dumps({"url": "/x"}), headers={"Content-Type": "text/plain"}
        )
        assert r.status_code == 415, r.text


def test_the_host_header_must_name_the_sidecar(sidecar: Sidecar) -> None:
    port = sidecar.url.rsplit(":", 1)[1]
    for host in ("evil.example", f"evil.example:{port}", f"rebound.attacker.test:{port}"):
        r = httpx.get(sidecar.url + "/health", headers={"Host": host})
        assert r.status_code == 421, (host, r.text)
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost"):
        assert httpx.get(sidecar.url + "/health", headers={"Host": host}).status_code == 200


def test_health_shows_nothing_private(
    sidecar: Sidecar, stash_url: str, test_db: dict[str, Any]
) -> None:
    text = httpx.get(sidecar.url + "/health").text
    assert stash_url not in text and str(test_db["db"]) not in text and "jobs" not in text


def _closed_within(sock: socket.socket, seconds: float, drip: bytes) -> float:
    """Send `drip` a byte every 0.3 s until the server closes; how long that took."""
    started = time.monotonic()
    sock.settimeout(0.3)
    while time.monotonic() - started < seconds:
        try:
            if sock.recv(4096) == b"":
                return time.monotonic() - started
        except TimeoutError:
            pass
        except ConnectionResetError:
            return time.monotonic() - started
        try:
            sock.sendall(drip)
        except (BrokenPipeError, ConnectionResetError):
            return time.monotonic() - started
    return float("inf")


def test_slow_headers_are_cut_off(open_sidecar: Sidecar) -> None:
    sock = _raw(open_sidecar, b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    try:
        assert _closed_within(sock, 10, b"a") < 5
    finally:
        sock.close()


def test_a_slow_body_is_cut_off(open_sidecar: Sidecar) -> None:
    head = b"POST /feedback HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    sock = _raw(open_sidecar, head + b"Content-Length: 5000\r\n\r\n{")
    try:
        sock.settimeout(15)
        started = time.monotonic()
        answer = sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert time.monotonic() - started < 6
    finally:
        sock.close()


def _png(width: int, height: int) -> bytes:
    """A flat grey PNG (small file, many pixels), written row by row without the full image."""
    out = io.BytesIO()
    Image.new("L", (width, height), 128).save(out, "PNG", optimize=False)
    return out.getvalue()


def test_a_pixel_bomb_is_refused_at_once_and_memory_comes_back(sidecar: Sidecar) -> None:
    proc = psutil.Process(sidecar.proc.pid)
    bomb = _png(9999, 9999)  # 292 KB once took 11 s and 1.4 GB, and kept 1.5 GB
    assert len(bomb) < 4 * 1024 * 1024
    rss = proc.memory_info().rss
    started = time.monotonic()
    with sidecar.client() as c:
        r = c.post("/identify", content=bomb, headers={"Content-Type": "image/png"})
        assert r.status_code == 422 and "too many pixels" in r.json()["error"], r.text
        assert time.monotonic() - started < 3
        assert proc.memory_info().rss - rss < 100 * 1024**2
        blocks = np.random.default_rng(1).integers(0, 255, (200, 300, 3), np.uint8)
        out = io.BytesIO()  # 24 MP, within the budget: decoded whole, then given back
        Image.fromarray(blocks).resize((6000, 4000), Image.Resampling.NEAREST).save(out, "JPEG")
        assert len(out.getvalue()) < 4 * 1024 * 1024
        r = c.post("/identify", content=out.getvalue(), headers={"Content-Type": "image/jpeg"})
        assert r.status_code == 200, r.text
    time.sleep(0.5)
    assert proc.memory_info().rss - rss < 150 * 1024**2


def test_feedback_fields_are_bounded(sidecar: Sidecar) -> None:
    with sidecar.client() as c:
        long = c.post("/feedback", json={"verdict": "accepted", "scene_id": "x" * 300})
        assert long.status_code == 400 and "longer than 256" in long.json()["error"]
        huge = c.post("/feedback", json={"verdict": "accepted", "stash_id": "y" * 10_000_000})
        assert huge.status_code == 413, huge.text[:200]
        big_int = c.post("/feedback", json={"verdict": "accepted", "person_id": 10**30})
        assert big_int.status_code == 400, big_int.text


def test_malformed_numbers_nesting_and_urls_are_400(sidecar: Sidecar) -> None:
    json_type = {"Content-Type": "application/json"}
    with sidecar.client() as c:
        for path in ("/identify/scene", "/identify/performer", "/feedback"):
            r = c.post(path, content=b'{"scene_id": "2", "performer_id": "1", "top": 1e999}',
                       headers=json_type)  # fmt: skip
            assert r.status_code == 400, (path, r.text)
        deep = c.post("/identify", content=b"[" * 100_000 + b"]" * 100_000, headers=json_type)
        assert deep.status_code == 400 and "nested too deeply" in deep.json()["error"]
        for url in ("http://127.0.0.1:99999/x.jpg", "http://[::1/x", "file:///etc/passwd"):
            r = c.post("/identify", json={"url": url})
            assert r.status_code == 400, (url, r.text)


def test_a_client_hanging_up_mid_upload_is_no_error(sidecar: Sidecar) -> None:
    offset = sidecar.log.stat().st_size
    head = (
        "POST /identify HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"X-API-Key: {API_KEY}\r\nContent-Type: image/jpeg\r\nContent-Length: 3000000\r\n\r\n"
    )
    sock = _raw(sidecar, head.encode() + b"\xff\xd8" + b"\0" * 200_000)
    time.sleep(0.3)
    sock.close()
    time.sleep(1.0)
    log = _log_since(sidecar, offset)
    assert "Traceback" not in log and "unexpected error" not in log, log


def _slow_multipart(sidecar: Sidecar, spool: Path, opened: list[str]) -> int:
    boundary = "stash-sense-boundary"
    disposition = 'Content-Disposition: form-data; name="image"; filename="a.jpg"'
    part = f"--{boundary}\r\n{disposition}\r\nContent-Type: image/jpeg\r\n\r\n".encode()
    payload = b"\xff\xd8" + b"\x11" * 3_000_000
    tail = f"\r\n--{boundary}--\r\n".encode()
    length = len(part) + len(payload) + len(tail)
    head = (f"POST /identify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {length}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n\r\n").encode()  # fmt: skip
    sock = _raw(sidecar, head + part)
    proc = psutil.Process(sidecar.proc.pid)
    try:
        for i in range(0, len(payload), 250_000):
            sock.sendall(payload[i : i + 250_000])
            time.sleep(0.1)
            opened += [f.path for f in proc.open_files() if f.path.startswith(str(spool))]
            opened += [str(p) for p in spool.iterdir()]
            for fd in Path(f"/proc/{proc.pid}/fd").iterdir():
                try:
                    target = os.readlink(fd)
                except OSError:
                    continue
                if target.startswith(str(spool)):
                    opened.append(target)
        sock.sendall(tail)
        return int(sock.recv(4096).split(b" ", 2)[1])
    finally:
        sock.close()


def test_a_multipart_upload_never_touches_the_disk(open_sidecar: Sidecar, spool_dir: Path) -> None:
    opened: list[str] = []
    status = _slow_multipart(open_sidecar, spool_dir, opened)
    assert status == 422  # not a real JPEG, but read in memory to the end
    assert opened == []


def test_eps_is_never_handed_to_ghostscript(sidecar: Sidecar) -> None:
    eps = (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 64 64\n%%EndComments\n"
           b"newpath 0 0 moveto 64 64 lineto stroke showpage\n%%EOF\n")  # fmt: skip
    with sidecar.client() as c:
        r = c.post("/identify", content=eps, headers={"Content-Type": "image/x-eps"})
    assert r.status_code == 422, r.text
    assert "accepted format" in r.json()["error"] and "host" not in r.json()["error"].lower()


def test_sprite_only_with_a_broken_vtt_is_a_clear_error(sidecar: Sidecar) -> None:
    with sidecar.client() as c:
        r = c.post("/identify/scene", json={"scene_id": "3", "source": "sprite"})
    assert r.status_code == 422, r.text
    assert "sprite" in r.json()["error"] or "VTT" in r.json()["error"]


def test_the_access_log_has_no_query_strings(sidecar: Sidecar) -> None:
    offset = sidecar.log.stat().st_size
    with sidecar.client() as c:
        assert c.get("/feedback", params={"apikey": "query-secret-77"}).status_code == 200
    time.sleep(0.3)
    log = _log_since(sidecar, offset)
    assert '"GET /feedback HTTP/1.1" 200' in log and "query-secret-77" not in log


def test_reload_without_a_path_follows_the_configured_db(
    sidecar: Sidecar, test_db: dict[str, Any], tmp_path: Path
) -> None:
    other = sidecar.log.parent / "other-db"  # reload takes folders under the data folder only
    shutil.copytree(test_db["db"], other, symlinks=True, dirs_exist_ok=True)
    with sidecar.client() as c:
        assert c.post("/database/reload", json={"path": str(other)}).json()["path"] == str(other)
        back = c.post("/database/reload", json={})
        assert back.status_code == 200 and back.json()["path"] == str(test_db["db"])


def test_a_full_feedback_file_is_507_and_loses_nothing(open_sidecar: Sidecar) -> None:
    saved, status = 0, 200
    with open_sidecar.client(key=None) as c:
        for i in range(2000):
            row = {"verdict": "rejected", "scene_id": f"s{i}", "stash_id": "z" * 250}
            r = c.post("/feedback", json=row)
            status = r.status_code
            if status != 200:
                break
            saved += 1
        assert status == 507, r.text
        assert "full" in r.json()["error"]
        rows = c.get("/feedback").json()["feedback"]
        assert len([r for r in rows if r["stash_id"] == "z" * 250]) == saved > 0


@pytest.fixture(scope="module")
def readonly_sidecar(
    test_db: dict[str, Any], stash_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Sidecar]:
    """A data folder that cannot be written (it is a file), keys from files only."""
    data = tmp_path_factory.mktemp("readonly")
    blocked = data / "not-a-folder"
    blocked.write_text("a file where the data folder should be")
    key_file, stash_key_file = data / "key.txt", data / "stash-key.txt"
    key_file.write_text("file-key-5150\n")
    stash_key_file.write_text("stash-file-key-8086\n")
    running = start_sidecar(
        Path(test_db["db"]), stash_url, data, "--api-key-file", str(key_file), api_key=None,
        env={"STASH_SENSE_FEEDBACK_DB": str(blocked / "feedback.sqlite"),
             "STASH_SENSE_STASH_API_KEY_FILE": str(stash_key_file)},
    )  # fmt: skip
    try:
        yield running
    finally:
        running.stop()


def test_a_read_only_data_folder_starts_without_feedback(readonly_sidecar: Sidecar) -> None:
    assert httpx.get(readonly_sidecar.url + "/health").json()["feedback"] is False
    with readonly_sidecar.client(key="file-key-5150") as c:
        r = c.post("/feedback", json={"verdict": "accepted"})
        assert r.status_code == 503 and "feedback is off" in r.json()["error"]
        assert c.get("/status").json()["feedback"]["off"]
    assert "starting without feedback" in readonly_sidecar.log.read_text()


def test_keys_from_files_are_in_no_process_argument(readonly_sidecar: Sidecar) -> None:
    assert httpx.get(readonly_sidecar.url + "/feedback").status_code == 401
    cmdline = " ".join(psutil.Process(readonly_sidecar.proc.pid).cmdline())
    environ = Path(f"/proc/{readonly_sidecar.proc.pid}/environ").read_bytes()
    for secret in ("file-key-5150", "stash-file-key-8086"):
        assert secret not in cmdline and secret.encode() not in environ


def test_the_access_log_writes_each_request_once_and_redacted(sidecar: Sidecar) -> None:
    """uvicorn's access formatter unpacks `record.args`: a filter that emptied them made every
    request print a traceback (with the secret, unredacted, in `Arguments:`) and no access line."""
    offset = sidecar.log.stat().st_size
    with sidecar.client() as c:
        for _ in range(20):
            assert c.get("/health").status_code == 200
        assert c.get(f"/nothing/{API_KEY}").status_code == 404
    time.sleep(0.5)
    log = _log_since(sidecar, offset)
    assert log.count('"GET /health HTTP/1.1" 200') == 20, log[:2000]
    assert "Traceback" not in log and "Logging error" not in log, log[:2000]
    assert API_KEY not in log and '"GET /nothing/*** HTTP/1.1" 404' in log, log[:2000]
    assert len(log.splitlines()) <= 21 + 2


def _slowloris(sidecar: Sidecar, count: int, stop: threading.Event, opened: list[int]) -> None:
    """`count` connections sending a header byte a second each, reopened when the server
    closes one, until `stop`."""
    host, port = sidecar.url.removeprefix("http://").split(":")
    head = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "

    def connect() -> socket.socket | None:
        try:
            sock = socket.create_connection((host, int(port)), timeout=2)
            sock.sendall(head)
            sock.setblocking(False)
            opened.append(1)
            return sock
        except OSError:
            return None

    socks = [connect() for _ in range(count)]
    try:
        while not stop.is_set():
            for i, sock in enumerate(socks):
                try:
                    if sock is None:
                        raise OSError
                    sock.send(b"a")
                except OSError:
                    if sock is not None:
                        sock.close()
                    socks[i] = connect()
            stop.wait(1.0)
    finally:
        for sock in socks:
            if sock is not None:
                sock.close()


def test_health_answers_within_a_second_during_a_slowloris(sidecar: Sidecar) -> None:
    """300 connections dribbling header bytes (260 once made /health answer 503 in 23 of 25)."""
    stop, opened = threading.Event(), []
    attack = threading.Thread(target=_slowloris, args=(sidecar, 300, stop, opened))
    attack.start()
    answers: list[tuple[int, float]] = []
    try:
        time.sleep(3)
        assert len(opened) >= 300
        for _ in range(15):
            started = time.monotonic()
            try:
                status = httpx.get(sidecar.url + "/health", timeout=5).status_code
            except httpx.HTTPError:
                status = 0
            answers.append((status, time.monotonic() - started))
            time.sleep(0.3)
    finally:
        stop.set()
        attack.join()
    assert [s for s, _ in answers] == [200] * 15, answers
    assert max(t for _, t in answers) < 1.0, answers


def _noise(mode: str, size: tuple[int, int], fmt: str, **options: object) -> bytes:
    """Blocks of noise in `mode`, enlarged to `size`: a small file, a large decode."""
    rng = np.random.default_rng(5)
    shape = (size[1] // 20, size[0] // 20, *((4,) if mode == "RGBA" else ()))
    dtype = np.int32 if mode == "I" else np.uint8
    small = Image.fromarray(rng.integers(0, 255, shape).astype(dtype), mode)
    out = io.BytesIO()
    small.resize(size, Image.Resampling.NEAREST).save(out, fmt, **options)
    return out.getvalue()


def test_tiff_and_webp_bombs_are_refused_by_their_decoded_bytes(sidecar: Sidecar) -> None:
    """24 MP is within the pixel budget; as a 32-bit TIFF or a lossless RGBA WebP each decode
    once added 500-700 MB."""
    proc = psutil.Process(sidecar.proc.pid)
    rss = proc.memory_info().rss
    bombs = {"image/tiff": _noise("I", (6000, 4000), "TIFF", compression="tiff_deflate"),
             "image/webp": _noise("RGBA", (6000, 4000), "WEBP", lossless=True)}  # fmt: skip
    with sidecar.client() as c:
        for kind, bomb in bombs.items():
            assert len(bomb) < 4 * 1024 * 1024
            r = c.post("/identify", content=bomb, headers={"Content-Type": kind})
            assert r.status_code == 422 and "too large to decode" in r.json()["error"], r.text
    assert proc.memory_info().rss - rss < 100 * 1024**2


def test_peak_memory_over_the_hostile_run(sidecar: Sidecar) -> None:
    """The sidecar's largest resident set since it started (every test of the session that used
    it: pixel, TIFF and WebP bombs, 24 MP images, uploads) stays below 1.5 GB (issue 20)."""
    status = Path(f"/proc/{sidecar.proc.pid}/status").read_text()
    peak_kb = int(
        next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1]
    )
    print(f"sidecar peak RSS: {peak_kb / 1024:.0f} MB")
    assert peak_kb * 1024 < 1536 * 1024**2
