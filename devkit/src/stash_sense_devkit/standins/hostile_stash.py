"""A hostile Stash stand-in: the Stash stand-in with scenes whose files try to lead the sidecar
astray, for the sidecar's security tests.

Everything the regular stand-in does (real schema, the key in `paths.stream` as real Stash puts
it, the login redirect without a key) plus these scenes, by id; each needs a `scene-<id>/` folder
with a video (and, for 15 and 16, a `*_sprite.jpg` and a `*.vtt`) so that findScene lists it:

- 11 `/stream` is an HLS playlist (served as Stash serves `/stream.m3u8`: MimeHLS, segments
  with `?apikey=`; stashapp/stash pkg/ffmpeg/stream_segmented.go) whose segments live on
  another host (`elsewhere`).
- 12 `/stream` is an HLS playlist whose segment is a local file (`file://<local_file>`).
- 13 as 11, but served as `video/mp4`, so only its content tells.
- 14 `/stream` answers its first request with the video and redirects every later one to
  `elsewhere` (a server that turns once the client has checked it).
- 15 the sprite sheet is 8000 x 8000 and its VTT has 200 cues each covering all of it.
- 16 the VTT has 5,000 cues (Stash writes 81), within the VTT byte limit.
- 17 the stream's file is missing: Go's `404 page not found`, as Stash answers.
- 18 the stream is a 0.7 MB Matroska file of three 16000 x 16000 PNG frames (any library may
  hold such a file; decoded whole, each frame is 1 GB).
- 19 `/stream` is a DASH manifest behind a DOCTYPE, served as `video/mp4`, whose `<BaseURL>` is
  another host (`elsewhere`).

And two GraphQL answers, to `findScene` of these ids (no folder needed):

- 20 a 2 GiB answer, streamed (one 1 MiB buffer sent again and again, never allocated whole).
- 21 an answer trickled at 1 byte a second (120 bytes, then the end of a valid JSON document).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import struct
import subprocess
import tempfile
import threading
import zlib
from collections.abc import Awaitable, Callable
from functools import cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stash_sense_devkit.standins.stash import stash_app

#: Stash's MimeHLS (pkg/ffmpeg/stream_segmented.go).
MIME_HLS = "application/vnd.apple.mpegurl"
HUGE_SPRITE_SIDE = 8000
HUGE_SPRITE_CUES = 200
MANY_CUES = 5_000
BIG_FRAME_SIDE = 16000
HUGE_GRAPHQL_BYTES = 2 * 1024**3
TRICKLE_BYTES = 120


async def _huge(send: Send, gone: asyncio.Event) -> None:
    block = b" " * (1 << 20)
    await send({"type": "http.response.body", "body": b'{"data": ', "more_body": True})
    for _ in range(HUGE_GRAPHQL_BYTES // len(block)):
        if gone.is_set():
            return
        await send({"type": "http.response.body", "body": block, "more_body": True})
    await send({"type": "http.response.body", "body": b"null}"})


async def _trickle(send: Send, gone: asyncio.Event) -> None:
    await send({"type": "http.response.body", "body": b'{"data": ', "more_body": True})
    for _ in range(TRICKLE_BYTES):
        await asyncio.sleep(1.0)
        if gone.is_set():
            return
        await send({"type": "http.response.body", "body": b" ", "more_body": True})
    await send({"type": "http.response.body", "body": b"null}"})


_TRAPS: dict[str, Callable[[Send, asyncio.Event], Awaitable[None]]] = {
    "20": _huge,
    "21": _trickle,
}


class GraphqlTraps:
    """ASGI middleware: findScene of a trap id gets its answer; any other request passes on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/graphql" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        trap = _TRAPS.get(_scene_id(body) or "")
        if trap is None:
            await self.app(scope, _replay(body, receive), send)
            return
        gone = asyncio.Event()

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()

        watcher = asyncio.create_task(watch())
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        try:
            await trap(send, gone)
        finally:
            watcher.cancel()


def _scene_id(body: bytes) -> str | None:
    try:
        request = json.loads(body)
        return str(request["variables"]["id"]) if "findScene" in request["query"] else None
    except (ValueError, KeyError, TypeError):
        return None


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that first gives back the body already read."""
    sent = False

    async def again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again


def _playlist(segment_urls: list[str]) -> str:
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-MEDIA-SEQUENCE:0",
             "#EXT-X-TARGETDURATION:10", "#EXT-X-PLAYLIST-TYPE:VOD"]  # fmt: skip
    for url in segment_urls:
        lines += ["#EXTINF:10.000000,", url]
    return "\n".join([*lines, "#EXT-X-ENDLIST", ""])


@cache
def huge_sprite_jpeg() -> bytes:
    """An 8000 x 8000 JPEG of a few MB (noise in blocks, so it is not tiny)."""
    rng = np.random.default_rng(7)
    small = rng.integers(0, 255, (HUGE_SPRITE_SIDE // 16, HUGE_SPRITE_SIDE // 16, 3), np.uint8)
    big = cv2.resize(small, (HUGE_SPRITE_SIDE, HUGE_SPRITE_SIDE), interpolation=cv2.INTER_NEAREST)
    ok, data = cv2.imencode(".jpg", big, [cv2.IMWRITE_JPEG_QUALITY, 70])
    assert ok
    return bytes(data.tobytes())


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def black_png(side: int) -> bytes:
    """A grey-scale PNG of side x side black pixels, compressed row by row (a few hundred KB)."""
    deflate = zlib.compressobj(9)
    row = b"\0" * (side + 1)
    data = b"".join(deflate.compress(row) for _ in range(side)) + deflate.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + b"".join(
        (_png_chunk(b"IHDR", header), _png_chunk(b"IDAT", data), _png_chunk(b"IEND", b""))
    )


@cache
def big_frames_mkv() -> Path:
    """Three BIG_FRAME_SIDE-square PNG frames in a Matroska file, muxed without decoding."""
    folder = Path(tempfile.mkdtemp(prefix="hostile-video-"))
    frame = folder / "frame.png"
    frame.write_bytes(black_png(BIG_FRAME_SIDE))
    out = folder / "big.mkv"
    ffmpeg = shutil.which("ffmpeg") or "ffmpeg"
    subprocess.run(
        [ffmpeg, "-v", "error", "-y", "-framerate", "1", "-loop", "1", "-i", str(frame),
         "-frames:v", "3", "-c:v", "copy", str(out)],
        check=True, timeout=120,
    )  # fmt: skip
    return out


def dash_manifest(elsewhere: str) -> str:
    """A DASH manifest behind a DOCTYPE whose one segment lives on another host."""
    return (
        '<!DOCTYPE MPD>\n<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" '
        'profiles="urn:mpeg:dash:profile:isoff-on-demand:2011" mediaPresentationDuration="PT20S" '
        f'minBufferTime="PT1S"><BaseURL>{elsewhere}/</BaseURL><Period><AdaptationSet '
        'mimeType="video/mp2t" contentType="video"><Representation id="v" bandwidth="100000" '
        'width="640" height="360"><BaseURL>segment.ts</BaseURL></Representation></AdaptationSet>'
        "</Period></MPD>\n"
    )


def _vtt(cues: int, region: str, step_s: float = 1.0) -> str:
    def stamp(t: float) -> str:
        return f"{int(t // 3600):02d}:{int(t // 60 % 60):02d}:{t % 60:06.3f}"

    out = ["WEBVTT", ""]
    for i in range(cues):
        out += [f"{stamp(i * step_s)} --> {stamp((i + 1) * step_s)}", f"s.jpg#xywh={region}", ""]
    return "\n".join(out)


def hostile_stash_app(
    scenes_dir: Path,
    *,
    elsewhere: str,
    local_file: Path,
    api_key: str | None = None,
    schema_dir: Path | None = None,
) -> FastAPI:
    """The hostile stand-in as an ASGI app (see the module docstring)."""
    app = stash_app(scenes_dir, schema_dir=schema_dir, api_key=api_key)
    state = app.state.stash
    key_query = f"?apikey={api_key}" if api_key else ""
    asked: dict[str, int] = {}
    lock = threading.Lock()
    router = APIRouter()

    def video(scene_id: str) -> Path:
        files = state.scene_files(scene_id)
        if files is None or files.video is None:
            raise LookupError(f"hostile scene {scene_id} needs a video in its folder")
        return Path(files.video)

    @router.get("/scene/11/stream")
    def hls_elsewhere() -> Response:
        urls = [f"{elsewhere}/segment-{i}.ts{key_query}" for i in range(2)]
        return Response(_playlist(urls), media_type=MIME_HLS)

    @router.get("/scene/12/stream")
    def hls_file() -> Response:
        return Response(_playlist([f"file://{local_file}"]), media_type=MIME_HLS)

    @router.get("/scene/13/stream")
    def hls_disguised() -> Response:
        urls = [f"{elsewhere}/segment-{i}.ts{key_query}" for i in range(2)]
        return Response(_playlist(urls), media_type="video/mp4")

    @router.get("/scene/14/stream")
    def redirect_later() -> Response:
        with lock:
            asked["14"] = asked.get("14", 0) + 1
            first = asked["14"] == 1
        if first:
            return FileResponse(video("14"), media_type="video/mp4")
        return Response(status_code=302, headers={"Location": f"{elsewhere}/video.mp4"})

    @router.get("/scene/15/vtt/sprite")
    def huge_sprite() -> Response:
        return Response(huge_sprite_jpeg(), media_type="image/jpeg")

    @router.get("/scene/15/vtt/thumbs")
    def huge_sprite_vtt() -> Response:
        side = HUGE_SPRITE_SIDE
        return Response(_vtt(HUGE_SPRITE_CUES, f"0,0,{side},{side}"), media_type="text/vtt")

    @router.get("/scene/16/vtt/thumbs")
    def many_cues() -> Response:
        return Response(_vtt(MANY_CUES, "0,0,16,16", step_s=0.01), media_type="text/vtt")

    @router.get("/scene/17/stream")
    def missing() -> Response:
        return Response("404 page not found\n", 404, media_type="text/plain; charset=utf-8")

    @router.get("/scene/18/stream")
    def big_frames() -> Response:
        return FileResponse(big_frames_mkv(), media_type="video/x-matroska")

    @router.get("/scene/19/stream")
    def dash_disguised() -> Response:
        return Response(dash_manifest(elsewhere), media_type="video/mp4")

    @router.get("/__asked")
    def asked_counts() -> dict[str, Any]:
        return dict(asked)

    # the hostile routes go first, so they win over the stand-in's own /scene/{id}/... routes
    app.router.routes[:0] = router.routes
    app.add_middleware(GraphqlTraps)
    return app
