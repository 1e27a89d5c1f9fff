"""Fixtures for the release tests: three signed releases of a synthetic database, a release host."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from relsynth import Host, World, make_world, start_host


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return make_world(tmp_path_factory.mktemp("release-world"))


@pytest.fixture
def served(world: World, tmp_path: Path) -> Path:
    """A copy of the served releases this test may damage."""
    copy = tmp_path / "served"
    shutil.copytree(world.served, copy)
    return copy


@pytest.fixture
def host_for(tmp_path: Path) -> Iterator[Callable[..., Host]]:
    """Start release hosts (stopped at the end of the test)."""
    hosts: list[Host] = []

    def start(root: Path, *extra: str) -> Host:
        host = start_host(root, tmp_path / f"host-{len(hosts)}.log", *extra)
        hosts.append(host)
        return host

    yield start
    for host in hosts:
        host.stop()
