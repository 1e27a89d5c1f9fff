"""/identify/scene over HTTP: sprite, video fallback, broken VTT, nobody, who is on the scene."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from sidecarproc import Sidecar, start_sidecar

from stash_sense_devkit.standins.launch import serve_in_subprocess

STASHDB = "https://stashdb.org/graphql"
MONICA = "5b1f0a4e-0000-4000-8000-00000000a001"


def _scene(sidecar: Sidecar, **body: Any) -> httpx.Response:
    with sidecar.client() as c:
        return c.post("/identify/scene", json=body)


def _best(result: dict[str, Any]) -> list[str]:
    return [p["matches"][0]["name"] for p in result["persons"] if p["matches"]]


def _gql(stash_url: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    payload: dict[str, Any] = httpx.post(
        stash_url + "/graphql", json={"query": query, "variables": variables}
    ).json()
    assert not payload.get("errors"), payload
    return payload["data"]


def test_sprite_scene_finds_everyone_and_marks_who_is_already_on_it(
    sidecar: Sidecar, stash_url: str
) -> None:
    monica = _gql(
        stash_url,
        "mutation C($i: PerformerCreateInput!) { performerCreate(input: $i) { id } }",
        {"i": {"name": "Monica S.", "stash_ids": [{"endpoint": STASHDB, "stash_id": MONICA}]}},
    )["performerCreate"]["id"]
    _gql(
        stash_url,
        "mutation U($i: SceneUpdateInput!) { sceneUpdate(input: $i) { id } }",
        {"i": {"id": "1", "performer_ids": [monica]}},
    )
    r = _scene(sidecar, scene_id="1", frames=12)
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["scene_id"] == "1" and result["source"] == "sprite+video"
    assert result["frames_sampled"] == 12
    best = _best(result)
    for name in ("Monica Seles", "Ali Naimi", "Tommy Thompson"):
        assert name in best, best
    for person in result["persons"]:
        assert person["face_jpeg"] and person["frames"] == len(person["times"]) > 0
        for m in person["matches"]:
            assert m["already_on_scene"] is (m["name"] == "Monica Seles")
            assert m["stash_performer_id"] == (monica if m["name"] == "Monica Seles" else None)


def test_sprite_only_when_asked(sidecar: Sidecar) -> None:
    result = _scene(sidecar, scene_id="5", source="sprite").json()
    assert result["source"] == "sprite" and result["frames_sampled"] == 81
    assert result["faces_detected"] > 0


def test_ffmpeg_sprite_scene_auto(sidecar: Sidecar) -> None:
    result = _scene(sidecar, scene_id="5", options={"frames": 8}).json()
    assert result["source"] == "sprite+video"
    assert {"Ali Naimi", "Monica Seles", "Tommy Thompson"} <= set(_best(result))


def test_scene_without_sprite_falls_back_to_the_video(sidecar: Sidecar) -> None:
    result = _scene(sidecar, scene_id="2", frames=8, min_tier="possible").json()
    assert result["source"] == "video" and result["frames_sampled"] == 8
    assert "no sprite sheet" in result["notes"][0]
    assert {"Monica Seles", "Tommy Thompson"} <= set(_best(result))
    for person in result["persons"]:
        assert all(m["tier"] in ("high", "likely", "possible") for m in person["matches"])
    times = sorted(t for p in result["persons"] for t in p["times"])
    assert all(not 2.0 <= t < 4.0 for t in times), "the empty shot shows nobody"


def test_broken_vtt_falls_back_to_the_video(sidecar: Sidecar) -> None:
    result = _scene(sidecar, scene_id="3", frames=4).json()
    assert result["source"] == "video"
    assert "sampled the video instead" in result["notes"][0]
    first, *others = result["persons"]
    assert first["matches"][0]["name"] == "Ali Naimi"
    assert first["matches"][0]["tier"] != "unlikely"
    # LFW photos can show a second face behind the subject: never a "high" match
    assert all(m["tier"] != "high" for p in others for m in p["matches"]), [
        [(m["name"], m["tier"], m["distance"]) for m in p["matches"]] for p in others
    ]


def test_video_with_nobody(sidecar: Sidecar) -> None:
    result = _scene(sidecar, scene_id="4", frames=6).json()
    assert result["persons"] == [] and result["faces_detected"] == 0
    assert result["frames_sampled"] == 6


def test_bad_scene_requests(sidecar: Sidecar) -> None:
    assert _scene(sidecar, scene_id="777").status_code == 404
    for body, word in [({}, "scene_id"), ({"scene_id": "1", "frames": 0}, "frames"),
                       ({"scene_id": "1", "frames": 10_000}, "frames"),
                       ({"scene_id": "1", "min_tier": "great"}, "min_tier"),
                       ({"scene_id": "1", "source": "ftp"}, "source")]:  # fmt: skip
        r = _scene(sidecar, **body)
        assert r.status_code == 400, (body, r.text)
        assert word in r.json()["error"]


def test_scene_from_a_stash_that_needs_its_api_key(
    test_db: dict[str, Any], scenes: Path, tmp_path: Path
) -> None:
    """The stream is read through the loopback relay: the key reaches Stash and no log."""
    stash_key = "stash-side-secret-0042"
    with serve_in_subprocess("stash", ["--scenes", str(scenes), "--api-key", stash_key]) as url:
        running = start_sidecar(Path(test_db["db"]), url, tmp_path / "data",
                                "--stash-api-key", stash_key)  # fmt: skip
        try:
            result = _scene(running, scene_id="2", frames=8).json()
        finally:
            running.stop()
    assert result["source"] == "video" and result["frames_sampled"] == 8
    assert {"Monica Seles", "Tommy Thompson"} <= set(_best(result))
    assert stash_key not in running.log.read_text()


def test_openapi_shows_the_request_constraints(sidecar: Sidecar) -> None:
    with sidecar.client() as c:
        paths = c.get("/openapi.json").json()["paths"]

    def body(path: str) -> dict[str, Any]:
        schema: dict[str, Any] = paths[path]["post"]["requestBody"]["content"]["application/json"]
        return schema["schema"]

    scene = body("/identify/scene")
    assert scene["required"] == ["scene_id"]
    assert scene["properties"]["top"]["maximum"] == 50
    assert scene["properties"]["frames"]["anyOf"][0]["maximum"] == 400
    assert scene["properties"]["source"]["enum"] == ["auto", "sprite", "video"]
    assert body("/feedback")["properties"]["verdict"]["enum"] == ["accepted", "rejected"]
    assert "path" in body("/database/reload")["properties"]
