"""The loopback relay every remote stream is read through, so decoders reach nothing but it.

Two jobs. Keys: reading a scene's stream from a Stash that needs an API key means sending
`ApiKey: ...` with every request; handed to ffmpeg (`-headers`) the key would sit on its command
line, readable by every local user in the process list, and OpenCV cannot send headers at all.
Reach: ffmpeg and OpenCV follow redirects and open whatever a playlist names (an HLS playlist's
segments may live on any host, or be `file:` paths). So the sidecar starts this relay on 127.0.0.1
at a random port: it serves one unguessable path per registered stream and forwards each GET/HEAD
(with its Range header, for seeking) to that one upstream URL with the secret headers added. It
never follows a redirect and refuses any answer that is a playlist or manifest (HLS `#EXTM3U`,
DASH `<MPD`, ffconcat, SDP, or such a content type; real Stash serves `/stream` as the file itself
with ranges, and HLS/DASH only at `/stream.m3u8` and `/stream.mpd`: stashapp/stash,
internal/api/routes_scene.go). The decoders get `http://127.0.0.1:PORT/<token>` with a protocol
whitelist of `http,tcp`, so every byte they read is the registered stream's, from its host.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

#: Request headers passed on to the upstream server (everything else is dropped).
FORWARDED_REQUEST = ("range", "user-agent", "icy-metadata")
#: Response headers passed back to the decoder.
FORWARDED_RESPONSE = ("content-type", "content-length", "content-range", "accept-ranges")
CHUNK = 256 * 1024
#: Content types of playlists and manifests (HLS, DASH, SDP) and of text, which no video is.
PLAYLIST_TYPES = ("mpegurl", "dash+xml", "xml", "sdp", "text/", "smil")
#: How a playlist or manifest begins (after a BOM and blanks); ffmpeg probes these by content.
PLAYLIST_MAGIC = (b"#EXTM3U", b"<?xml", b"<MPD", b"<mpd", b"ffconcat", b"v=0", b"<smil")
SNIFF_BYTES = 64


def looks_like_playlist(content_type: str, head: bytes) -> bool:
    """True when an answer is a playlist/manifest that would make a decoder fetch elsewhere."""
    kind = content_type.lower()
    if any(marker in kind for marker in PLAYLIST_TYPES):
        return True
    start = head.lstrip(b"\xef\xbb\xbf").lstrip()
    return start.startswith(PLAYLIST_MAGIC)


TIMEOUT = httpx.Timeout(30.0, connect=10.0)


class _Handler(BaseHTTPRequestHandler):
    server: _RelayServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # http.server calls do_<METHOD>
        self._relay(body=True)

    def do_HEAD(self) -> None:
        self._relay(body=False)

    def _relay(self, body: bool) -> None:
        target = self.server.targets.get(self.path.lstrip("/"))
        if target is None:
            self._fail(404, "unknown stream")
            return
        url, secret_headers = target
        headers = {k: v for k, v in self.headers.items() if k.lower() in FORWARDED_REQUEST}
        headers.update(secret_headers)
        method = "GET" if body else "HEAD"
        try:
            with self.server.client.stream(method, url, headers=headers) as upstream:
                if upstream.is_redirect:
                    # the relay reaches only the registered URL; a redirect is not followed
                    self._fail(502, "the upstream server answered with a redirect")
                    return
                chunks = upstream.iter_raw(CHUNK)
                head = b""
                if body:
                    for chunk in chunks:
                        head += chunk
                        if len(head) >= SNIFF_BYTES:
                            break
                if looks_like_playlist(upstream.headers.get("content-type", ""), head):
                    self._fail(502, "the upstream answer is a playlist or manifest, not a video")
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
                    self.wfile.write(head)
                    for chunk in chunks:
                        self.wfile.write(chunk)
        except httpx.HTTPError as exc:
            self._fail(502, f"upstream: {type(exc).__name__}")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the decoder had read what it needed

    def _fail(self, status: int, message: str) -> None:
        data = message.encode()
        with contextlib.suppress(OSError):
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
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
        self.targets: dict[str, tuple[str, dict[str, str]]] = {}
        self.client = httpx.Client(timeout=TIMEOUT, follow_redirects=False)


class HeaderRelay:
    """The relay: `url_for(upstream, headers)` gives a loopback URL that reaches that stream."""

    def __init__(self) -> None:
        self._server = _RelayServer()
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="stream-relay", daemon=True
        )
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url_for(self, upstream: str, headers: dict[str, str]) -> str:
        token = secrets.token_urlsafe(24)
        self._server.targets[token] = (upstream, dict(headers))
        return f"http://127.0.0.1:{self.port}/{token}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._server.client.close()
        self._thread.join(timeout=5)


def is_remote(source: str) -> bool:
    return source.lower().startswith(("http://", "https://"))


@contextlib.contextmanager
def decoder_source(source: str, headers: dict[str, str] | None) -> Iterator[str]:
    """What a decoder should open: a local file path itself, or for an http(s) URL (keyed or
    not) a relayed loopback URL that adds the headers and reaches nothing but that URL."""
    if not is_remote(source):
        yield source
        return
    relay = HeaderRelay()
    try:
        yield relay.url_for(source, headers or {})
    finally:
        relay.close()
