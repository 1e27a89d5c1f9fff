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
            if now > self._stamp:  # tokens accrue from the stamp (the end of a pause) on
                self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
                self._stamp = now
            self._tokens -= 1.0
            self.acquired += 1
            debt = -self._tokens / self.rate if self._tokens < 0 else 0.0
            return max(0.0, self._stamp + debt - now)

    def acquire(self) -> float:
        """Wait for a token (and for the end of any pause that began meanwhile); return the
        seconds waited."""
        waited = self.reserve()
        if waited > 0:
            self._sleep(waited)
        while True:
            with self._lock:
                left = self._paused_until - self._clock()
            if left <= 0:
                return waited
            self._sleep(left)
            waited += left

    def pause(self, seconds: float) -> None:
        """Hold every caller back for `seconds` from now: no tokens accrue meanwhile, and at
        most one is left for the moment it ends (a 429's Retry-After is for the whole host)."""
        with self._lock:
            now = self._clock()
            self._paused_until = max(self._paused_until, now + seconds)
            self._tokens = min(self._tokens, 1.0)
            self._stamp = max(self._stamp, self._paused_until)


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
