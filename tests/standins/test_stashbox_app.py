"""The stash-box stand-in over real HTTP (uvicorn in a thread): the real schema's validation,
the per_page cap, images, and dev controls."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from stash_sense_devkit.standins.control import StandIn, make_faces_dir
from stash_sense_devkit.standins.launch import serve_in_thread
from stash_sense_devkit.standins.stashbox import StashBoxOptions, stashbox_app
from stash_sense_devkit.standins.tpdb import TpdbOptions, tpdb_app


@pytest.fixture(scope="module")
def faces(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    lfw = data_dir / "faces" / "lfw-dev"
    names = ["Adam_Sandler", "Celine_Dion", "Yao_Ming"]
    return make_faces_dir(lfw, tmp_path_factory.mktemp("app"), names, images=1)


@pytest.fixture(scope="module")
def box(faces: Path) -> Iterator[StandIn]:
    app = stashbox_app(StashBoxOptions(faces_dir=faces, max_per_page=2, replicate_to=5))
    with serve_in_thread(app) as base:
        yield StandIn(base)


def post(box: StandIn, query: str, variables: dict[str, object] | None = None) -> dict[str, object]:
    body = {"query": query, "variables": variables or {}}
    response = httpx.post(box.graphql_url, json=body, timeout=10)
    result: dict[str, object] = response.json()
    return result


def test_queries_outside_the_schema_are_rejected(box: StandIn) -> None:
    answer = post(box, "{ queryPerformers(input: {page: 1, per_page: 2}) { count nope } }")
    assert answer["errors"]
    bad_sort = "{ queryPerformers(input: {page: 1, per_page: 2, sort: WHENEVER}) { count } }"
    answer = post(box, bad_sort)
    assert answer["errors"]


def test_per_page_is_capped_and_images_are_served(box: StandIn) -> None:
    query = """query($input: PerformerQueryInput!) {
      queryPerformers(input: $input) { count performers { id name images { url } } } }"""
    variables = {"input": {"page": 1, "per_page": 50, "sort": "NAME", "direction": "ASC"}}
    answer = post(box, query, variables)
    page = answer["data"]["queryPerformers"]  # type: ignore[index]
    assert page["count"] == 5
    assert [p["name"] for p in page["performers"]] == ["Adam Sandler", "Adam Sandler 2"]
    image = httpx.get(page["performers"][0]["images"][0]["url"], timeout=10)
    assert image.status_code == 200 and image.content[:3] == b"\xff\xd8\xff"
    assert httpx.get(box.base + "/images/nope", timeout=10).status_code == 404


def test_dev_controls(box: StandIn) -> None:
    assert box.stats()["performers"] == 5
    response = httpx.post(box.base + "/_dev/config", json={"no_such_option": 1}, timeout=10)
    assert response.status_code == 400
    response = httpx.post(box.base + "/_dev/edit", json={"op": "explode"}, timeout=10)
    assert response.status_code == 400


def test_tpdb_pages_have_the_documented_meta(faces: Path) -> None:
    with serve_in_thread(tpdb_app(TpdbOptions(faces_dir=faces))) as base:
        body = httpx.get(base + "/performers", params={"per_page": 2, "page": 2}, timeout=10).json()
        one = httpx.get(base + "/performers/" + body["data"][0]["id"], timeout=10).json()
    assert body["meta"] == {
        "current_page": 2,
        "from": 3,
        "last_page": 2,
        "per_page": 2,
        "to": 3,
        "total": 3,
    }
    assert body["data"][0]["name"] == "Yao Ming"
    assert one["data"]["name"] == "Yao Ming"
    links = body["data"][0]["extras"]["links"]
    assert links[0]["url"].startswith("https://stashdb.org/performers/")
