"""HTTP behaviour against the real stand-in over HTTP: 429 + Retry-After, 5xx and timeouts
retried with backoff, 401 a clean stop, and image downloads streamed under a size cap."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from stash_sense.sources.endpoints import EndpointConfig
from stash_sense.sources.http import AuthError, FetchError, HttpSession, RetryPolicy
from stash_sense.sources.ratelimit import HostRateLimiter
from stash_sense.sources.stashbox import StashBoxClient
from stash_sense_devkit.standins.control import StandIn
from stash_sense_devkit.standins.launch import serve_in_thread

FAST_RETRY = RetryPolicy(attempts=4, base_delay_s=0.05, max_delay_s=0.2)


def client_for(standin: StandIn, **fields: object) -> StashBoxClient:
    settings: dict[str, object] = {"rate_limit": 100.0, "page_size": 5, **fields}
    endpoint = EndpointConfig(name="t", url=standin.graphql_url, **settings)  # type: ignore[arg-type]
    session = HttpSession(
        limiter=HostRateLimiter(endpoint.rate_limit),
        auth_headers={"ApiKey": endpoint.key_value() or ""} if endpoint.api_key else None,
        auth_origin=endpoint.url,
        timeout_s=endpoint.timeout_s,
        retry=FAST_RETRY,
        source="t",
    )
    return StashBoxClient(endpoint, session=session)


def counts(standin: StandIn) -> dict[str, int]:
    result: dict[str, int] = standin.stats()["counts"]
    return result


def test_429_retry_after_is_honoured_for_the_whole_host(stashbox: StandIn) -> None:
    stashbox.configure(rate_limit=2.0)  # the server allows 2 a second; the client would do 100
    before = counts(stashbox).get("429", 0)
    client = client_for(stashbox)
    start = time.monotonic()
    pages = [client.performer_page(p) for p in (1, 2, 3, 1, 2)]
    elapsed = time.monotonic() - start
    client.close()
    assert [len(p.performers) for p in pages] == [5, 5, 5, 5, 5]
    refused = counts(stashbox).get("429", 0) - before
    assert refused >= 1  # it was refused and waited; each Retry-After is >= 1 s
    assert elapsed >= refused * 0.9
    assert refused <= 5  # it did not hammer the server while told to wait


def test_5xx_is_retried_until_it_passes(stashbox: StandIn) -> None:
    stashbox.configure(fail_rate=0.5)
    before = counts(stashbox).get("500", 0)
    client = client_for(stashbox)
    pages = [client.performer_page(p) for p in range(1, 6)]
    client.close()
    assert sum(len(p.performers) for p in pages) == 25 == 5 * len(pages)
    assert counts(stashbox).get("500", 0) > before


def test_5xx_for_good_gives_up_after_the_attempts(stashbox: StandIn) -> None:
    stashbox.configure(fail_rate=1.0)
    before = counts(stashbox).get("500", 0)
    client = client_for(stashbox)
    with pytest.raises(FetchError) as err:
        client.performer_page(1)
    client.close()
    assert err.value.reason == "http_500"
    assert "gave up after 4 attempts" in str(err.value)
    assert counts(stashbox).get("500", 0) - before == 4


def test_a_hanging_endpoint_times_out(stashbox: StandIn) -> None:
    stashbox.configure(hang_graphql=True)
    before = counts(stashbox).get("request", 0)
    client = client_for(stashbox, timeout_s=0.3)
    start = time.monotonic()
    with pytest.raises(FetchError) as err:
        client.performer_page(1)
    client.close()
    assert err.value.reason == "timeout"
    assert counts(stashbox).get("request", 0) - before == 4  # retried, then given up
    assert time.monotonic() - start < 4 * 0.3 + 3 * 0.2 + 2


def test_not_authorized_stops_at_once_with_a_clear_message(stashbox: StandIn) -> None:
    """stash-box answers a wrong key with HTTP 200 and "not authorized" (counted as 401)."""
    stashbox.configure(api_key="right-key-123")
    before = counts(stashbox).get("401", 0)
    wrong = client_for(stashbox, api_key="wrong-key-456")
    with pytest.raises(AuthError) as err:
        wrong.performer_page(1)
    wrong.close()
    message = str(err.value)
    assert "not authorized" in message and "API key" in message
    assert "wrong-key-456" not in message and "\n" not in message
    assert counts(stashbox).get("401", 0) - before == 1  # not retried
    right = client_for(stashbox, api_key="right-key-123")
    assert len(right.performer_page(1).performers) == 5
    right.close()


def image_session() -> HttpSession:
    return HttpSession(limiter=HostRateLimiter(100.0), timeout_s=0.5, retry=FAST_RETRY)


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("404", "http_404"),
        ("html", "not_image"),
        ("huge", "too_large"),
        ("huge-declared", "too_large"),
        ("hang", "timeout"),
    ],
)
def test_bad_images_fail_with_a_reason(stashbox: StandIn, kind: str, reason: str) -> None:
    with image_session() as session:
        start = time.monotonic()
        with pytest.raises(FetchError) as err:
            session.download_image(f"{stashbox.base}/bad/{kind}", 2 * 1024 * 1024)
    assert err.value.reason == reason
    assert time.monotonic() - start < 8  # the 500 MB image is cut off at the cap, not read


def test_a_good_image_downloads(stashbox: StandIn) -> None:
    client = client_for(stashbox)
    url = client.performer_page(1).performers[0].images[0].url
    client.close()
    with image_session() as session:
        data = session.download_image(url, 2 * 1024 * 1024)
        assert data[:3] == b"\xff\xd8\xff"
        with pytest.raises(FetchError) as err:
            session.download_image(url, 1024)  # a cap below its size
    assert err.value.reason == "too_large"


def test_the_api_key_goes_only_to_the_api_host() -> None:
    async def echo(request: Request) -> JSONResponse:
        return JSONResponse({"api_key": request.headers.get("ApiKey")})

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    app = Starlette(routes=[Route("/echo", echo), Route("/_dev/health", health)])
    with serve_in_thread(app) as base:
        host = urlsplit(base).netloc
        for auth_host, seen in [(host, "k-123"), ("stashdb.example", None)]:
            session = HttpSession(
                limiter=HostRateLimiter(100.0),
                auth_headers={"ApiKey": "k-123"},
                auth_origin=f"http://{auth_host}",
            )
            assert session.request_json("GET", base + "/echo") == {"api_key": seen}
            session.close()


def test_a_closed_port_is_named_once_in_the_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    config = EndpointConfig(name="t", url=f"http://127.0.0.1:{port}/graphql", rate_limit=100.0)
    session = HttpSession(limiter=HostRateLimiter(100.0), retry=FAST_RETRY, source="t")
    client = StashBoxClient(config, session=session)
    with pytest.raises(FetchError) as err:
        client.performer_page(1)
    client.close()
    assert err.value.reason == "connection"
    assert str(err.value).count(config.url) == 1, str(err.value)
    assert "connection failed" in str(err.value)
