"""Fetching models: from a local HTTP server that honours Range, into a temporary cache."""

from __future__ import annotations

import hashlib
import http.server
import io
import os
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

import pytest

from stash_sense.models import ModelError, ModelSpec, fetch_model, resolve_model_path


class _Handler(http.server.BaseHTTPRequestHandler):
    files: ClassVar[dict[str, bytes]] = {}
    requests: ClassVar[list[tuple[str, str | None]]] = []

    def do_GET(self) -> None:
        data = self.files.get(self.path)
        range_header = self.headers.get("Range")
        self.requests.append((self.path, range_header))
        if data is None:
            self.send_error(404)
            return
        start = 0
        if range_header and range_header.startswith("bytes="):
            start = int(range_header[6:].split("-")[0])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    _Handler.files = {}
    _Handler.requests = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def _payload(size: int = 300_000) -> bytes:
    return os.urandom(size)


def _spec(data: bytes, url: str, **kw: object) -> ModelSpec:
    base = ModelSpec(
        name="toy",
        kind="embedder",
        version="1",
        filename="toy.onnx",
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        dim=8,
        url=url,
        optional=True,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def test_fetch_downloads_and_verifies(server: str, tmp_path: Path) -> None:
    data = _payload()
    _Handler.files["/toy.onnx"] = data
    seen: list[tuple[int, int | None]] = []
    path = fetch_model(
        _spec(data, f"{server}/toy.onnx"),
        folder=tmp_path,
        on_progress=lambda d, t: seen.append((d, t)),
    )
    assert path == tmp_path / "toy.onnx"
    assert path.read_bytes() == data
    assert not list(tmp_path.glob("*.part"))
    assert seen[-1] == (len(data), len(data))
    # a second fetch finds the verified file and downloads nothing
    count = len(_Handler.requests)
    assert fetch_model(_spec(data, f"{server}/toy.onnx"), folder=tmp_path) == path
    assert len(_Handler.requests) == count


def test_fetch_resumes_a_partial_download(server: str, tmp_path: Path) -> None:
    data = _payload()
    _Handler.files["/toy.onnx"] = data
    (tmp_path / "toy.onnx.part").write_bytes(data[:123_456])
    path = fetch_model(_spec(data, f"{server}/toy.onnx"), folder=tmp_path)
    assert path.read_bytes() == data
    assert _Handler.requests == [("/toy.onnx", "bytes=123456-")]


def test_fetch_completes_when_the_part_is_already_whole(server: str, tmp_path: Path) -> None:
    data = _payload()
    _Handler.files["/toy.onnx"] = data
    (tmp_path / "toy.onnx.part").write_bytes(data)
    assert fetch_model(_spec(data, f"{server}/toy.onnx"), folder=tmp_path).read_bytes() == data


def test_fetch_refuses_a_checksum_mismatch(server: str, tmp_path: Path) -> None:
    data = _payload()
    _Handler.files["/toy.onnx"] = data
    spec = _spec(data, f"{server}/toy.onnx", sha256="0" * 64)
    with pytest.raises(ModelError, match="sha256 mismatch"):
        fetch_model(spec, folder=tmp_path)
    assert not (tmp_path / "toy.onnx").exists()
    assert not (tmp_path / "toy.onnx.part").exists()  # the next try starts clean


def test_fetch_refuses_a_wrong_size(server: str, tmp_path: Path) -> None:
    data = _payload()
    _Handler.files["/toy.onnx"] = data
    with pytest.raises(ModelError, match="bytes, expected"):
        fetch_model(_spec(data, f"{server}/toy.onnx", size=len(data) + 1), folder=tmp_path)


def test_fetch_reports_http_errors(server: str, tmp_path: Path) -> None:
    data = _payload(1000)
    with pytest.raises(ModelError, match="HTTP 404"):
        fetch_model(_spec(data, f"{server}/nowhere.onnx"), folder=tmp_path)


def test_fetch_url_override(server: str, tmp_path: Path) -> None:
    data = _payload()
    _Handler.files["/mirror/toy.onnx"] = data
    spec = _spec(data, "http://127.0.0.1:9/unreachable.onnx")
    path = fetch_model(spec, url=f"{server}/mirror/toy.onnx", folder=tmp_path)
    assert path.read_bytes() == data


def test_fetch_extracts_an_archive_member(server: str, tmp_path: Path) -> None:
    member = _payload()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("pack/readme.txt", "hello")
        archive.writestr("pack/toy.onnx", member)
    zipped = buffer.getvalue()
    _Handler.files["/pack.zip"] = zipped
    spec = _spec(
        member,
        f"{server}/pack.zip",
        archive_member="toy.onnx",  # found by file name even under a top folder
        archive_sha256=hashlib.sha256(zipped).hexdigest(),
        archive_size=len(zipped),
    )
    path = fetch_model(spec, folder=tmp_path)
    assert path.read_bytes() == member
    assert sorted(p.name for p in tmp_path.iterdir()) == ["toy.onnx"]


def test_fetch_refuses_a_wrong_archive(server: str, tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("toy.onnx", b"x" * 100)
    _Handler.files["/pack.zip"] = buffer.getvalue()
    spec = _spec(
        b"y" * 100, f"{server}/pack.zip", archive_member="toy.onnx", archive_sha256="0" * 64
    )
    with pytest.raises(ModelError, match="archive sha256 mismatch"):
        fetch_model(spec, folder=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_bundled_model_needs_no_fetch(tmp_path: Path) -> None:
    assert fetch_model("sface", folder=tmp_path) == resolve_model_path("sface")


def test_an_unreachable_host_is_named_once(tmp_path: Path) -> None:
    data = _payload(1000)
    url = "http://127.0.0.1:9/unreachable.onnx"  # the discard port: nothing listens
    with pytest.raises(ModelError) as err:
        fetch_model(_spec(data, url), folder=tmp_path)
    assert str(err.value).count(url) == 1 and "connection failed" in str(err.value), err.value
