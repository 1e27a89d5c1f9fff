"""The Stash stand-in over a generated world (the library benchmark's): Stash Sense's own client
pages it as it pages Stash, files are served per scene, every request is counted."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from stash_sense.sources.stash import StashClient
from stash_sense_devkit.standins.launch import serve_in_thread
from stash_sense_devkit.standins.library_world import world_app

DATA = Path(__file__).resolve().parents[1] / "data"
KEY = "world-key"
#: scene id -> Unix seconds of its last edit (not in id order) and its local performers
SCENES = {"1": (1_735_689_900, []), "2": (1_735_689_600, ["1"]), "3": (1_735_689_700, []),
          "4": (1_735_690_000, []), "5": (1_735_689_650, ["1", "2"])}  # fmt: skip


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    face = next((DATA / "faces" / "lfw-dev").rglob("*.jpg"))
    raw = {
        "clips": [{"name": "scene-1"}],
        "scenes": [
            {"id": sid, "clip": 0, "updated": t, "performers": p} for sid, (t, p) in SCENES.items()
        ],
        "performers": [
            {"id": "1", "name": "Ann Example", "stash_ids": [], "image": str(face)},
            {
                "id": "2",
                "name": "Bo Example",
                "image": None,
                "stash_ids": [{"endpoint": "https://stashdb.org/graphql", "stash_id": "x-1"}],
            },
        ],
    }
    path = tmp_path_factory.mktemp("world") / "world.json"
    path.write_text(json.dumps(raw))
    with serve_in_thread(world_app(path, DATA / "scenes", KEY)) as url:
        yield url


def test_the_scan_client_pages_the_world_oldest_edit_first(world: str) -> None:
    with StashClient(world, KEY) as client:
        untagged = client.scene_page({"performer_count": {"value": 0, "modifier": "EQUALS"}}, 1, 2)
        assert untagged.count == 3
        assert [s.id for s in untagged.scenes] == ["3", "1"]
        everything = client.scene_page({}, 1, 10)
        assert [s.id for s in everything.scenes] == ["2", "5", "3", "1", "4"]
        assert everything.scenes[0].updated_at == "2025-01-01T00:00:00Z"
        later = client.scene_page(
            {"updated_at": {"value": "2025-01-01T00:04:00Z", "modifier": "GREATER_THAN"}}, 1, 10
        )
        assert [s.id for s in later.scenes] == ["1", "4"]
        scene = client.find_scene("5")
    assert scene is not None
    assert [p.name for p in scene.performers] == ["Ann Example", "Bo Example"]


def test_files_are_served_per_scene_and_every_request_is_counted(world: str) -> None:
    before = len(httpx.get(world + "/__requests").json())
    sprite = httpx.get(world + "/scene/4/vtt/sprite", headers={"ApiKey": KEY})
    assert sprite.status_code == 200
    assert sprite.content == (DATA / "scenes" / "scene-1" / "scene_sprite.jpg").read_bytes()
    assert httpx.get(world + "/scene/9/vtt/sprite", headers={"ApiKey": KEY}).status_code == 404
    no_key = httpx.get(world + "/scene/4/vtt/thumbs")  # as Stash: to its login page
    assert no_key.status_code == 302 and no_key.headers["location"].startswith("/login?")
    image = httpx.get(world + "/performer/1/image", headers={"ApiKey": KEY})
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    seen = [(kind, scene) for _, kind, scene in httpx.get(world + "/__requests").json()[before:]]
    assert seen == [("sprite", "4"), ("sprite", "9"), ("vtt", "4"), ("performer/1/image", None)]
