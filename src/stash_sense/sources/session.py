"""The HTTP session a source client opens for one configured endpoint: its rate limit, retries,
timeout and connection pool, with the API key sent only to the endpoint's own host."""

from __future__ import annotations

from stash_sense.sources.endpoints import EndpointConfig
from stash_sense.sources.http import HttpSession, RetryPolicy
from stash_sense.sources.ratelimit import HostRateLimiter


def endpoint_session(endpoint: EndpointConfig, auth_headers: dict[str, str]) -> HttpSession:
    """A session for `endpoint`; `auth_headers` (empty without a key) go to its host only."""
    return HttpSession(
        limiter=HostRateLimiter(endpoint.rate_limit, endpoint.burst),
        headers={"Accept": "application/json"},
        auth_headers=auth_headers,
        auth_origin=endpoint.url,
        timeout_s=endpoint.timeout_s,
        retry=RetryPolicy(attempts=endpoint.retries),
        max_connections=endpoint.concurrency + 2,
        source=endpoint.name,
    )
