"""Steering a running stand-in over HTTP (`/_dev/...`): faults, edits, request counts, and a
faces folder made from an identity set (`<Name>/<k>.jpg`) for tests and benchmarks."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import httpx


class StandIn:
    """A running stash-box or ThePornDB stand-in at `base` (e.g. http://127.0.0.1:9998)."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")

    @property
    def graphql_url(self) -> str:
        return self.base + "/graphql"

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = httpx.post(self.base + path, json=body, timeout=10)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def configure(self, **faults: Any) -> None:
        """Change fault options (latency_ms, fail_rate, rate_limit, api_key, malformed_pages,
        hang_graphql, outage_s + outage_kind + outage_paths, storm_s, graphql_error_rate,
        redirect_host + redirect_paths)."""
        self._post("/_dev/config", faults)

    def reset(self) -> None:
        """No faults."""
        self.configure(
            latency_ms=0.0,
            fail_rate=0.0,
            rate_limit=None,
            api_key=None,
            malformed_pages=[],
            hang_graphql=False,
            outage_s=0,
            outage_kind="503",
            outage_paths=[],
            storm_s=0,
            graphql_error_rate=0.0,
            redirect_host=None,
            redirect_paths=[],
        )

    def edit(self, op: str, **fields: Any) -> dict[str, Any]:
        """A stash-box edit: update (id, set), destroy (id), merge (sources, target), create."""
        return self._post("/_dev/edit", {"op": op, **fields})

    def stats(self) -> dict[str, Any]:
        """Requests served by kind, the span between the first and last, live performers."""
        response = httpx.get(self.base + "/_dev/stats", timeout=10)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result


def make_faces_dir(
    identities: Path, dest: Path, names: list[str], images: int | None = None
) -> Path:
    """Copy `images` pictures (all when None) of each named identity folder into `dest`."""
    for name in names:
        files = sorted((identities / name).glob("*.jpg"))[:images]
        if not files:
            raise FileNotFoundError(f"no pictures of {name} under {identities}")
        (dest / name).mkdir(parents=True, exist_ok=True)
        for f in files:
            shutil.copyfile(f, dest / name / f.name)
    return dest
