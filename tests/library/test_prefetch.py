"""The scan's one-scene-ahead prefetch: the next scene is fetched on another thread while the
caller works, one at a time; a scene fetched for nothing is told to stop; errors reach the
caller of take()."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from stash_sense.library.prefetch import Prefetch


class Fetcher:
    """A fetch that records which thread ran which key, and can be held until released."""

    def __init__(self) -> None:
        self.ran: list[tuple[str, str]] = []
        self.started = threading.Event()
        self.release = threading.Event()
        self.release.set()
        self.stopped: list[str] = []

    def __call__(self, key: str, should_stop: Callable[[], bool]) -> str:
        self.ran.append((key, threading.current_thread().name))
        self.started.set()
        while not self.release.wait(0.01):
            if should_stop():
                self.stopped.append(key)
                return "partial"
        if key == "bad":
            raise ValueError("no such scene")
        return key.upper()


def test_the_next_key_is_fetched_on_another_thread_while_the_caller_works() -> None:
    fetch = Fetcher()
    with Prefetch(fetch) as ahead:
        assert ahead.take("a") == "A"
        fetch.release.clear()
        fetch.started.clear()
        ahead.ahead("b")
        assert fetch.started.wait(5)  # "b" runs while this thread does something else
        ahead.ahead("c")  # one ahead at most: ignored
        fetch.release.set()
        assert ahead.take("b") == "B"
    assert [k for k, _ in fetch.ran] == ["a", "b"]
    assert all(name.startswith("scan-prefetch") for _, name in fetch.ran)


def test_a_key_fetched_for_nothing_is_stopped_and_the_asked_one_fetched() -> None:
    fetch = Fetcher()
    with Prefetch(fetch) as ahead:
        fetch.release.clear()
        ahead.ahead("b")
        assert fetch.started.wait(5)
        threading.Timer(0.5, fetch.release.set).start()  # "c" then runs to its end
        assert ahead.take("c") == "C"
    assert fetch.stopped == ["b"]


def test_close_stops_the_fetch_ahead_and_the_outer_stop_reaches_it() -> None:
    fetch = Fetcher()
    pause = threading.Event()
    ahead = Prefetch(fetch, should_stop=pause.is_set)
    fetch.release.clear()
    ahead.ahead("b")
    assert fetch.started.wait(5)
    pause.set()  # the scan's pause: the running decode sees it
    ahead.close()
    assert fetch.stopped == ["b"]
    with pytest.raises(RuntimeError, match="closed"):
        ahead.take("b")


def test_an_error_reaches_take() -> None:
    with Prefetch(Fetcher()) as ahead:
        ahead.ahead("bad")
        with pytest.raises(ValueError, match="no such scene"):
            ahead.take("bad")
        assert ahead.take("d") == "D"  # and the prefetch goes on
