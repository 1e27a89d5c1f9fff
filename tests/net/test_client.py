"""net.HttpClient against a real local server: each hop checked by the policy, credentials only
on their own origin, redirect limit, body cap, content type, and one deadline for the request."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from stash_sense.net import HttpClient, NetError, Policy, Scope, redact_url


class Handler(BaseHTTPRequestHandler):
    """/to?u=URL redirects; /loop redirects to itself; /big sends 1 MiB; /trickle 1 byte per
    0.2 s; /echo answers with the headers it got; /html is text/html."""

    def do_GET(self) -> None:  # http.server calls do_<METHOD>
        path, _, query = self.path.partition("?")
        if path in ("/to", "/loop"):
            self.send_response(302)
            self.send_header("Location", query[2:] if path == "/to" else "/loop")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if path == "/trickle":
            self.send_response(200)
            self.end_headers()
            for _ in range(50):
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.2)
            return
        body = {
            "/big": b"x" * (1 << 20),
            "/echo": "|".join(f"{k}={v}" for k, v in sorted(self.headers.items())).encode(),
            "/html": b"<html></html>",
        }.get(path, b"ok")
        self.send_response(200)
        self.send_header("Content-Type", "text/html" if path == "/html" else "text/plain")
        self.end_headers()  # no Content-Length: the cap is met while reading
        self.wfile.write(body)
        self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    running = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=running.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{running.server_address[1]}"
    running.shutdown()
    running.server_close()


def other(url: str) -> str:
    """The same server under another origin (localhost instead of 127.0.0.1)."""
    return url.replace("127.0.0.1", "localhost")


def test_credentials_go_to_their_origin_only_also_after_a_redirect(server: str) -> None:
    policy = Policy(scope=Scope.ANY, origin=server, credentials={"ApiKey": "k-1", "Cookie": "c=1"})
    with HttpClient() as client:
        home = client.request("GET", f"{server}/echo", policy).body.decode()
        away = client.request("GET", f"{server}/to?u={other(server)}/echo", policy).body.decode()
    assert "ApiKey=k-1" in home and "Cookie=c=1" in home
    assert "k-1" not in away and "c=1" not in away


def test_a_hop_off_the_origin_is_refused(server: str) -> None:
    policy = Policy(origin=server, refusal="not on the test host")
    with HttpClient() as client, pytest.raises(NetError) as err:
        client.request("GET", f"{server}/to?u={other(server)}/echo", policy)
    assert err.value.reason == "refused" and "not on the test host" in str(err.value)


def test_hosts_scope_takes_subdomains_and_nothing_else() -> None:
    policy = Policy(scope=Scope.HOSTS, hosts=frozenset({"stashdb.org"}))
    assert policy.allows("https://cdn.stashdb.org/a.jpg") and policy.allows("http://stashdb.org/")
    assert not policy.allows("https://evilstashdb.org/") and not policy.allows("file:///etc/passwd")
    assert not policy.allows("http://stashdb.org:99999/")


def test_the_redirect_limit(server: str) -> None:
    with HttpClient() as client, pytest.raises(NetError) as err:
        client.request("GET", f"{server}/loop", Policy(origin=server, max_redirects=3))
    assert err.value.reason == "too_many_redirects"


def test_the_body_is_cut_at_the_cap(server: str) -> None:
    with HttpClient() as client, pytest.raises(NetError) as err:
        client.request("GET", f"{server}/big", Policy(origin=server, max_bytes=64 * 1024))
    assert err.value.reason == "too_large"


def test_a_content_type_not_asked_for_is_refused(server: str) -> None:
    policy = Policy(origin=server, content_types=("image/",))
    with HttpClient() as client, pytest.raises(NetError) as err:
        client.request("GET", f"{server}/html", policy)
    assert err.value.reason == "content_type"


def test_a_trickle_ends_at_the_deadline_not_at_each_read(server: str) -> None:
    started = time.monotonic()
    with HttpClient(timeout_s=5) as client, pytest.raises(NetError) as err:
        client.request("GET", f"{server}/trickle", Policy(origin=server, deadline_s=1.0))
    assert err.value.reason == "timeout"
    assert time.monotonic() - started < 3


def test_urls_are_shown_without_userinfo_or_secret_query_values() -> None:
    shown = redact_url("http://user:pw@stash.local:9999/scene/1/stream?apikey=s3cret&x=1")
    assert shown == "http://stash.local:9999/scene/1/stream?apikey=***&x=1"
    assert "pw" not in redact_url("http://user:pw@[::1")


def test_a_credential_the_caller_passes_does_not_leave_the_origin(server: str) -> None:
    policy = Policy(scope=Scope.ANY, origin=server)
    with HttpClient() as client:
        away = client.request(
            "GET", f"{server}/to?u={other(server)}/echo", policy, headers={"ApiKey": "k-2"}
        ).body.decode()
    assert "k-2" not in away and "Host=localhost" in away
