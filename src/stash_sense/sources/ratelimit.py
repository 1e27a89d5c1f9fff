"""Per-host rate limiting: a thread-safe token bucket per host, with pauses that 429s impose.

A bucket holds at most `burst` tokens and gains `rate` tokens a second. `acquire()` takes one
token, sleeping until it is there; tokens are reserved under the lock, so many threads waiting on
one bucket are served in turn at exactly the rate. `pause(seconds)` stops every caller of the host
until then (a 429's Retry-After applies to the whole host, not to one request).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit


class TokenBucket:
    """A token bucket: `rate` tokens a second, at most `burst` stored."""

    def __init__(
        self,
        rate: float,
        burst: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be > 0 requests per second")
        if burst < 1:
            raise ValueError("burst must be >= 1")
        self.rate = float(rate)
        self.burst = float(burst)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = float(burst)
        self._stamp = clock()
        self._paused_until = 0.0
        self.acquired = 0

    def reserve(self) -> float:
        """Take one token now (possibly going into debt); return how long the caller must wait."""
        with self._lock:
            now = self._clock()
            start = max(now, self._paused_until)
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            self._tokens -= 1.0
            self.acquired += 1
            debt_wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
            return max(debt_wait, start - now)

    def acquire(self) -> float:
        """Wait for a token; return the seconds waited."""
        wait = self.reserve()
        if wait > 0:
            self._sleep(wait)
        return wait

    def pause(self, seconds: float) -> None:
        """Hold every caller back for `seconds` from now (and drain the stored tokens)."""
        with self._lock:
            now = self._clock()
            self._paused_until = max(self._paused_until, now + seconds)
            self._tokens = min(self._tokens, 0.0)
            self._stamp = max(self._stamp, now)


class HostRateLimiter:
    """One token bucket per host name, created on first use with the default or a per-host rate."""

    def __init__(
        self, rate: float, burst: float = 1.0, per_host: dict[str, float] | None = None
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.per_host = dict(per_host or {})
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    def bucket(self, url_or_host: str) -> TokenBucket:
        host = urlsplit(url_or_host).netloc if "//" in url_or_host else url_or_host
        with self._lock:
            bucket = self._buckets.get(host)
            if bucket is None:
                rate = self.per_host.get(host, self.rate)
                bucket = TokenBucket(rate, max(1.0, self.burst))
                self._buckets[host] = bucket
            return bucket

    def acquire(self, url: str) -> float:
        return self.bucket(url).acquire()

    def pause(self, url: str, seconds: float) -> None:
        self.bucket(url).pause(seconds)
