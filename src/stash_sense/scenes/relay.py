"""The loopback relay every remote stream is read through, so decoders reach nothing but it.

Three jobs. Keys: reading a scene's stream from a Stash that needs an API key means sending
`ApiKey: ...` with every request; handed to ffmpeg (`-headers`) the key would sit on its command
line, readable by every local user in the process list. Reach: ffmpeg follows redirects and opens
whatever a playlist or manifest names (an HLS playlist's segments, a DASH manifest's `<BaseURL>`,
on any host and port). Content: only media the relay recognises positively is passed on.

So the sidecar starts this relay on 127.0.0.1 at a random port. Each registered stream has a
public name and a secret token; the relay forwards each GET/HEAD (with its Range header, for
seeking) to that one upstream URL with the secret headers added. ffmpeg and ffprobe reach it as
their HTTP *proxy*: their command line names only `http://stash-sense-relay.invalid/<name>`,
and the proxy URL with the token (`http://relay:<token>@127.0.0.1:PORT`) is in their environment
(`http_proxy`), which other users cannot read; the relay answers 407 to a request without it.
Every http URL such a decoder might be led to goes to the relay too, which serves nothing but
registered names. (`url` gives an in-process reader a URL with the token in its path.)

Answers: a redirect is never followed; an answer that starts at byte 0 must begin with the magic
of a video container (`scenes.containers`: ISO BMFF, Matroska/WebM, MPEG-TS, AVI, FLV, MPEG-PS, Ogg,
ASF, RealMedia), the one found when the stream was registered; anything else (an HLS playlist,
a DASH manifest behind a DOCTYPE, ffconcat, SDP, text, HTML) is refused. The decoders are then
told that container (`-f`), so no demuxer that follows references is ever chosen by probing.
Real Stash serves `/stream` as the file itself with ranges (stashapp/stash,
internal/api/routes_scene.go).
"""

from __future__ import annotations

import base64
import contextlib
import hmac
import itertools
import os
import secrets
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import httpx

from stash_sense.scenes.containers import (
    SNIFF_BYTES,
    container_of,
    looks_like_playlist,
    sniff_file,
)
from stash_sense.scenes.frames import FrameError

#: Request headers passed on to the upstream server (everything else is dropped).
FORWARDED_REQUEST = ("range", "user-agent", "icy-metadata")
#: Response headers passed back to the decoder.
FORWARDED_RESPONSE = ("content-type", "content-length", "content-range", "accept-ranges")
CHUNK = 64 * 1024
#: Bytes the kernel may hold between the relay and a decoder (SO_SNDBUF). A decoder that seeks
#: closes its connection; whatever sat in the buffers by then was copied for nothing. Left to
#: the kernel's autotuning (up to 4 MB), 40 keyframes of the 20-minute benchmark video (27 MB,
#: about 200 requests) pushed 391 MB through the relay and 1.6 CPU s; with 64 KB, 43 MB and
#: 0.8 CPU s (bench/results/scene-extract.json).
SEND_BUFFER = 64 * 1024
#: The host name decoders are given; `.invalid` never resolves, so without the proxy it fails.
RELAY_HOST = "stash-sense-relay.invalid"
PROXY_USER = "relay"
TIMEOUT = httpx.Timeout(30.0, connect=10.0)


@dataclass
class _Stream:
    upstream: str
    headers: dict[str, str] = field(repr=False)
    token: str = field(repr=False)
    name: str
    container: str | None = None


def _starts_at_zero(status: int, content_range: str) -> bool:
    return status == 200 or content_range.replace(" ", "").lower().startswith("bytes0-")


class _Handler(BaseHTTPRequestHandler):
    server: _RelayServer
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        self.request.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
        super().setup()

    def do_GET(self) -> None:  # http.server calls do_<METHOD>
        self._relay(body=True)

    def do_HEAD(self) -> None:
        self._relay(body=False)

    def _stream(self) -> _Stream | None:
        """The stream asked for: by token in the path, or by name through the proxy (with the
        token as proxy credentials, else 407)."""
        if not self.path.startswith("http://"):
            return self.server.by_token.get(self.path.lstrip("/"))
        parts = urlsplit(self.path)
        stream = self.server.by_name.get(parts.path.lstrip("/"))
        if parts.hostname != RELAY_HOST or stream is None:
            self._fail(404, "unknown stream")
            return None
        expected = "Basic " + base64.b64encode(f"{PROXY_USER}:{stream.token}".encode()).decode()
        given = self.headers.get("Proxy-Authorization", "")
        if not hmac.compare_digest(given.encode(), expected.encode()):
            self._fail(407, "proxy credentials needed", [("Proxy-Authenticate", 'Basic realm="r"')])
            return None
        return stream

    def _relay(self, body: bool) -> None:
        stream = self._stream()
        if stream is None:
            if not self.path.startswith("http://"):
                self._fail(404, "unknown stream")
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() in FORWARDED_REQUEST}
        headers.update(stream.headers)
        method = "GET" if body else "HEAD"
        try:
            with self.server.client.stream(method, stream.upstream, headers=headers) as upstream:
                if upstream.is_redirect:
                    # the relay reaches only the registered URL; a redirect is not followed
                    self._fail(502, "the upstream server answered with a redirect")
                    return
                if upstream.status_code not in (200, 206):
                    self._fail(
                        upstream.status_code, f"upstream answered HTTP {upstream.status_code}"
                    )
                    return
                chunks = upstream.iter_raw(CHUNK)
                head = b""
                if body:
                    for chunk in chunks:
                        head += chunk
                        if len(head) >= SNIFF_BYTES:
                            break
                refused = self._refusal(stream, upstream, head, body)
                if refused:
                    self._fail(502, refused)
                    return
                self.send_response(upstream.status_code)
                for name in FORWARDED_RESPONSE:
                    if name in upstream.headers:
                        self.send_header(name, upstream.headers[name])
                # one request per connection, said out loud: a decoder that is not told would
                # send its next (seek) request down this socket after the relay closed it
                self.send_header("Connection", "close")
                self.close_connection = True
                self.end_headers()
                if body:
                    self._send(head)
                    for chunk in chunks:
                        self._send(chunk)
        except httpx.HTTPError as exc:
            self._fail(502, f"upstream: {type(exc).__name__}")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the decoder had read what it needed

    def _send(self, data: bytes) -> None:
        self.wfile.write(data)
        with self.server.lock:
            self.server.sent += len(data)

    @staticmethod
    def _refusal(stream: _Stream, upstream: httpx.Response, head: bytes, body: bool) -> str:
        """Why an answer may not be passed on ("" when it may)."""
        if looks_like_playlist(upstream.headers.get("content-type", "")):
            return "the upstream answer is a playlist, manifest or text, not a video"
        if not body or not _starts_at_zero(
            upstream.status_code, upstream.headers.get("content-range", "")
        ):
            return ""  # a later range: the decoder already reads it as the known container
        found = container_of(head)
        if found is None:
            return "the upstream answer is not a video container the relay recognises"
        if stream.container is not None and found != stream.container:
            return f"the upstream answer changed from {stream.container} to {found}"
        return ""

    def _fail(self, status: int, message: str, extra: list[tuple[str, str]] | None = None) -> None:
        data = message.encode()
        with contextlib.suppress(OSError):
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            for name, value in extra or []:
                self.send_header(name, value)
            self.send_header("Connection", "close")
            self.close_connection = True
            self.end_headers()
            self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        """Silent: request lines hold the stream tokens."""


class _RelayServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.by_token: dict[str, _Stream] = {}
        self.by_name: dict[str, _Stream] = {}
        self.client = httpx.Client(timeout=TIMEOUT, follow_redirects=False)
        self.lock = threading.Lock()
        self.sent = 0  # bytes of answers' bodies handed to the kernel for decoders


@dataclass(frozen=True)
class RelayedStream:
    """A registered stream: how each kind of decoder reaches it through the relay."""

    #: what a decoder process is told to open (names the stream, holds no secret)
    public_url: str
    #: the proxy URL with the stream's token: for the decoder's environment only
    proxy: str = field(repr=False)
    #: a URL with the token in its path, for readers in this process
    url: str = field(repr=False)
    #: the ffmpeg demuxer of the stream's container (None: not checked at registration)
    container: str | None

    def decoder_env(self) -> dict[str, str]:
        """The environment of a decoder process: the relay as its only HTTP proxy."""
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        env.update(http_proxy=self.proxy, no_proxy="")
        return env


class HeaderRelay:
    """The relay: `register(upstream, headers)` gives the ways to reach that stream."""

    _names = itertools.count(1)

    def __init__(self) -> None:
        self._server = _RelayServer()
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="stream-relay", daemon=True
        )
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def bytes_sent(self) -> int:
        """Bytes of streams handed to decoders so far (whether or not they read them)."""
        with self._server.lock:
            return self._server.sent

    def register(
        self, upstream: str, headers: dict[str, str], *, sniff: bool = True
    ) -> RelayedStream:
        """Register a stream; with `sniff`, read its first bytes now and raise FrameError unless
        they are a video container (which every later answer from byte 0 must then match)."""
        stream = _Stream(
            upstream, dict(headers), secrets.token_urlsafe(24), f"s{next(self._names)}"
        )
        if sniff:
            stream.container = self._sniff(stream)
        self._server.by_token[stream.token] = stream
        self._server.by_name[stream.name] = stream
        return RelayedStream(
            public_url=f"http://{RELAY_HOST}/{stream.name}",
            proxy=f"http://{PROXY_USER}:{stream.token}@127.0.0.1:{self.port}",
            url=f"http://127.0.0.1:{self.port}/{stream.token}",
            container=stream.container,
        )

    def url_for(self, upstream: str, headers: dict[str, str]) -> str:
        """A loopback URL (token in the path) that reaches that stream, for in-process readers."""
        return self.register(upstream, headers, sniff=False).url

    def _sniff(self, stream: _Stream) -> str:
        headers = {"Range": f"bytes=0-{SNIFF_BYTES - 1}", **stream.headers}
        try:
            with self._server.client.stream("GET", stream.upstream, headers=headers) as answer:
                if answer.is_redirect:
                    raise FrameError("the stream answered with a redirect")
                if answer.status_code not in (200, 206):
                    raise FrameError(f"the stream answered HTTP {answer.status_code}")
                if looks_like_playlist(answer.headers.get("content-type", "")):
                    raise FrameError("the stream is a playlist, manifest or text, not a video")
                head = b""
                for chunk in answer.iter_raw(SNIFF_BYTES):
                    head += chunk
                    if len(head) >= SNIFF_BYTES:
                        break
        except httpx.HTTPError as exc:
            raise FrameError(f"cannot reach the stream: {type(exc).__name__}") from None
        found = container_of(head)
        if found is None:
            raise FrameError("the stream is not a video container (its first bytes match none)")
        return found

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._server.client.close()
        self._thread.join(timeout=5)


def is_remote(source: str) -> bool:
    return source.lower().startswith(("http://", "https://"))


@dataclass(frozen=True)
class DecoderInput:
    """What decoders open: `target` (a local path or the relay's public URL), the environment
    of a decoder process, the container to force, and whether it is a local file."""

    target: str
    env: dict[str, str] | None = field(repr=False)
    container: str | None
    local: bool


@contextlib.contextmanager
def decoder_source(source: str, headers: dict[str, str] | None) -> Iterator[DecoderInput]:
    """What decoders should open: a local file itself (its container sniffed), or for an
    http(s) URL (keyed or not) the relay's name for it, reached through the relay as proxy.
    Raises FrameError when the source is not a video container recognised here."""
    if not is_remote(source):
        container = sniff_file(source)
        if container is None and os.path.isfile(source):
            raise FrameError("not a video container (its first bytes match none)")
        yield DecoderInput(source, None, container, local=True)
        return
    relay = HeaderRelay()
    try:
        stream = relay.register(source, headers or {})
        yield DecoderInput(stream.public_url, stream.decoder_env(), stream.container, local=False)
    finally:
        relay.close()
