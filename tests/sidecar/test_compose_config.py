"""docker/compose.yml's sidecar settings work as its comments say: the sidecar it configures
accepts a CORS preflight from the page at http://localhost:9999 (the address the compose file
publishes Stash at) and answers to its service name; and the plugin URL it tells the user to set
is the service name (http://localhost:5000 cannot work from the Stash container)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from sidecarproc import start_sidecar

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker" / "compose.yml"


def compose_environment() -> dict[str, str]:
    """The `- STASH_SENSE_X=value` lines of the stash-sense service (comments left out)."""
    text = COMPOSE.read_text(encoding="utf-8")
    service = text[text.index("\n  stash-sense:") :]
    pairs = re.findall(r"^\s+- (STASH_SENSE_\w+)=([^\s#]*)", service, re.MULTILINE)
    return dict(pairs)


def test_the_compose_sidecar_takes_the_browser_at_localhost_9999(tmp_path: Path) -> None:
    env = compose_environment()
    assert env["STASH_SENSE_STASH_URL"] == "http://stash:9999"
    key = env.pop("STASH_SENSE_API_KEY")
    sidecar = start_sidecar(tmp_path / "no-db", env.pop("STASH_SENSE_STASH_URL"), tmp_path / "data",
                            api_key=key, env=env)  # fmt: skip
    try:
        preflight = httpx.options(
            sidecar.url + "/identify",
            headers={
                "Origin": "http://localhost:9999",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "x-api-key,content-type",
            },
        )
        assert preflight.status_code == 200, preflight.text
        assert preflight.headers["access-control-allow-origin"] == "http://localhost:9999"
        port = sidecar.url.rsplit(":", 1)[1]
        by_name = httpx.get(sidecar.url + "/health", headers={"Host": f"stash-sense:{port}"})
        assert by_name.status_code == 200
    finally:
        sidecar.stop()


def test_the_plugin_url_it_names_is_the_service_name() -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    assert "Sidecar URL http://stash-sense:5000" in text
    assert "localhost:5000" not in text
