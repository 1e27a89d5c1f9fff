"""A static release host for tests, run as its own process: files with HTTP Range (RFC 9110 14),
an optional byte rate limit, redirects, and a log of every request line and its headers.

Like GitHub Releases or a plain web server: `Accept-Ranges: bytes`, `206` with `Content-Range` for
`Range: bytes=N-`, `416` past the end, `200` with the whole file otherwise.
"""

from __future__ import annotations

import argparse
import json
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("root", type=Path)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--rate", type=int, default=0, help="bytes per second per response")
    parser.add_argument("--redirect", action="append", default=[], help="PATH=LOCATION")
    args = parser.parse_args()
    root = args.root.resolve()
    redirects = dict(r.split("=", 1) for r in args.redirect)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *a: object) -> None:
            return

        def do_GET(self) -> None:
            with args.log.open("a") as log:
                entry = {"path": self.path, "headers": dict(self.headers.items())}
                log.write(json.dumps(entry) + "\n")
            path = unquote(urlsplit(self.path).path)
            if path in redirects:
                self.send_response(302)
                self.send_header("Location", redirects[path])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            file = (root / path.lstrip("/")).resolve()
            if not file.is_relative_to(root) or not file.is_file():
                self.send_error(404)
                return
            size = file.stat().st_size
            start = 0
            ranged = self.headers.get("Range", "")
            if ranged.startswith("bytes=") and ranged.endswith("-"):
                start = int(ranged[6:-1])
                if start >= size:
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{size}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
            else:
                self.send_response(200)
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", str(size - start))
            self.send_header("Set-Cookie", "tracker=1; Path=/")
            self.end_headers()
            with file.open("rb") as f:
                f.seek(start)
                step = max(1, args.rate // 20) if args.rate else 1 << 16
                while chunk := f.read(step):
                    try:
                        self.wfile.write(chunk)
                    except (BrokenPipeError, ConnectionResetError):
                        return
                    if args.rate:
                        time.sleep(len(chunk) / args.rate)

    ThreadingHTTPServer((args.host, args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
