"""GET /images/{performer_id}: pictures fetched by the sidecar from the stash-box host only, cached.

A copy of the shared test database gets stash ids on the stash-box stand-in (real schema, serving
its images at /images/<id>) and image URLs: one on that host, one on another host.
"""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sidecarproc import API_KEY, Sidecar, start_sidecar

from stash_sense.database import DatabaseWriter, EmbedderInfo, FaceDatabase, PerformerRecord
from stash_sense_devkit.standins.control import make_faces_dir
from stash_sense_devkit.standins.launch import serve_in_subprocess

KEY = {"X-API-Key": API_KEY}


@pytest.fixture(scope="module")
def stashbox(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    faces = make_faces_dir(
        data_dir / "faces" / "lfw-dev", tmp_path_factory.mktemp("sb-faces"),
        ["Tommy_Thompson"], images=1,
    )  # fmt: skip
    with serve_in_subprocess("stashbox", ["--faces", str(faces), "--performers", "1"]) as url:
        yield url


@pytest.fixture(scope="module")
def image_url(stashbox: str) -> str:
    query = "{ queryPerformers(input: {page: 1, per_page: 1}) { performers { images { url } } } }"
    data = httpx.post(f"{stashbox}/graphql", json={"query": query}).json()["data"]
    return str(data["queryPerformers"]["performers"][0]["images"][0]["url"])


@pytest.fixture(scope="module")
def world(
    test_db: dict[str, Any], stashbox: str, image_url: str,
    stash_url: str, tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Sidecar, dict[str, int], Path]]:  # fmt: skip
    """The sidecar on a database where Tommy's image is on the stash-box host, Monica's not."""
    db = tmp_path_factory.mktemp("images-db") / "db"
    shutil.copytree(test_db["db"], db, symlinks=True)
    manifest = json.loads((db / "current" / "manifest.json").read_text())
    infos = [EmbedderInfo.from_manifest(n, e) for n, e in manifest["models"].items()]
    endpoint = f"{stashbox}/graphql"
    elsewhere = image_url.replace("127.0.0.1", "localhost")
    with DatabaseWriter.open(db, infos) as writer:
        for name, url in (("Tommy Thompson", image_url), ("Monica Seles", elsewhere)):
            pid = writer.find_performer(PerformerRecord(name=name))
            rec = PerformerRecord(name=name, stash_ids=[(endpoint, name)], image_urls=[url])
            writer.upsert_performer(rec, "enroll", into=pid)
        writer.publish()
    with FaceDatabase.open(db) as reader:
        names = ("Tommy Thompson", "Monica Seles")
        pick = "SELECT performer_id FROM stash_ids WHERE endpoint = ? AND stash_id = ?"
        ids = {n: reader.query(pick, (endpoint, n))[0][0] for n in names}
        ids["Ali Naimi"] = reader.performer_ids_by_name("Ali Naimi")[0]
    data = tmp_path_factory.mktemp("images-data")
    running = start_sidecar(db, stash_url, data)
    try:
        yield running, ids, data
    finally:
        running.stop()


def test_an_image_on_the_stash_box_host_is_fetched_and_cached(
    world: tuple[Sidecar, dict[str, int], Path], image_url: str
) -> None:
    sidecar, ids, data = world
    original = httpx.get(image_url).content
    for _ in range(2):
        answer = httpx.get(f"{sidecar.url}/images/{ids['Tommy Thompson']}", headers=KEY)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["performer_id"] == ids["Tommy Thompson"]
        assert body["data_url"].startswith("data:image/jpeg;base64,")
        assert base64.b64decode(body["data_url"].split(",", 1)[1]) == original
    cached = list((data / "images").glob("*.img"))
    assert [p.read_bytes() for p in cached] == [original]


def test_an_image_on_another_host_is_refused(world: tuple[Sidecar, dict[str, int], Path]) -> None:
    sidecar, ids, _ = world
    answer = httpx.get(f"{sidecar.url}/images/{ids['Monica Seles']}", headers=KEY)
    assert answer.status_code == 400, answer.text
    assert "not on the performer's stash-box host" in answer.json()["error"]


def test_a_data_url_image_is_served_as_stored(
    world: tuple[Sidecar, dict[str, int], Path], test_db: dict[str, Any]
) -> None:
    sidecar, ids, _ = world
    answer = httpx.get(f"{sidecar.url}/images/{ids['Ali Naimi']}", headers=KEY)
    assert answer.status_code == 200
    assert answer.json()["data_url"] == test_db["performers"]["Ali Naimi"]["image"]


def test_unknown_performer_no_image_and_no_key(world: tuple[Sidecar, dict[str, int], Path]) -> None:
    sidecar, _, _ = world
    assert httpx.get(f"{sidecar.url}/images/999999", headers=KEY).status_code == 404
    assert httpx.get(f"{sidecar.url}/images/1").status_code == 401


@pytest.mark.parametrize("performer_id", ["99999999999999999999999", "-1", "0"])
def test_an_id_beyond_any_performer_is_not_found(
    world: tuple[Sidecar, dict[str, int], Path], performer_id: str
) -> None:
    """An id past SQLite's integers once answered 500 (OverflowError)."""
    sidecar, _, _ = world
    answer = httpx.get(f"{sidecar.url}/images/{performer_id}", headers=KEY)
    assert answer.status_code == 404, answer.text
    assert answer.json()["error"] == f"the database has no performer {int(performer_id)}"
