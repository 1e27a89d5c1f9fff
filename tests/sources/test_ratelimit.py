"""The token bucket and per-host limiter: exact timing on a fake clock, and real threads."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from stash_sense.sources.http import RetryPolicy, parse_retry_after
from stash_sense.sources.ratelimit import HostRateLimiter, TokenBucket


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_bucket_spaces_requests_at_the_rate() -> None:
    fake = FakeClock()
    bucket = TokenBucket(2.0, clock=fake.clock, sleep=fake.sleep)
    for _ in range(10):
        bucket.acquire()
    assert fake.now - 100.0 == pytest.approx(4.5)  # the first is free, then one every 0.5 s
    assert bucket.acquired == 10


def test_burst_is_spent_then_the_rate_applies() -> None:
    fake = FakeClock()
    bucket = TokenBucket(1.0, burst=3, clock=fake.clock, sleep=fake.sleep)
    fake.now += 60  # idle: the bucket holds at most `burst` tokens, not 60
    start = fake.now
    waits = [bucket.acquire() for _ in range(5)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert fake.now - start == pytest.approx(2.0)


def test_pause_holds_every_caller_and_drains_tokens() -> None:
    fake = FakeClock()
    bucket = TokenBucket(10.0, burst=5, clock=fake.clock, sleep=fake.sleep)
    bucket.pause(3.0)
    start = fake.now
    bucket.acquire()
    assert fake.now - start == pytest.approx(3.0)
    bucket.acquire()  # no stored burst survives the pause
    assert fake.now - start == pytest.approx(3.1)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        TokenBucket(0)
    with pytest.raises(ValueError):
        TokenBucket(1, burst=0.5)


def test_threads_share_a_bucket_at_exactly_the_rate() -> None:
    bucket = TokenBucket(20.0)
    stamps: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(8):
            bucket.acquire()
            with lock:
                stamps.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = max(stamps) - start
    assert len(stamps) == 32
    assert 31 / 20 * 0.95 <= elapsed <= 31 / 20 + 0.5
    # no second holds more than rate + burst requests (one more for scheduling jitter)
    stamps.sort()
    for i, s in enumerate(stamps):
        assert sum(1 for t in stamps[i:] if t - s < 1.0) <= 22


def test_hosts_have_their_own_buckets() -> None:
    limiter = HostRateLimiter(1.0, per_host={"fast.example": 50.0})
    a = limiter.bucket("https://a.example/graphql")
    assert limiter.bucket("https://a.example/images/1") is a
    assert limiter.bucket("https://b.example/x") is not a
    assert limiter.bucket("https://fast.example/x").rate == 50.0
    start = time.monotonic()
    limiter.acquire("https://a.example/1")
    limiter.acquire("https://b.example/1")  # another host: not held back by a's bucket
    assert time.monotonic() - start < 0.2


def test_backoff_grows_with_full_jitter_and_a_cap() -> None:
    policy = RetryPolicy(base_delay_s=0.5, max_delay_s=4.0)
    for attempt, ceiling in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (8, 4.0)]:
        delays = [policy.backoff(attempt) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1  # jittered


def test_retry_after_seconds_and_http_dates() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(" 0 ") == 0.0
    later = datetime.now(UTC) + timedelta(seconds=30)
    assert parse_retry_after(format_datetime(later, usegmt=True)) == pytest.approx(30, abs=2)
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
