"""POST /identity over real HTTP: the identity graph's answer for a stash id or a local
performer's stash ids, on the shared test database (Ali Naimi has a StashDB and a FansDB id on one
row, Monica Seles a StashDB id), its graph built with the real command; and hostile input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from sidecarproc import Sidecar

STASHDB = "https://stashdb.org/graphql"
FANSDB = "https://fansdb.cc/graphql"
ALI_SD = "5b1f0a4e-0000-4000-8000-00000000a002"
ALI_FD = "7c2e1b5f-0000-4000-8000-00000000b002"
MONICA_SD = "5b1f0a4e-0000-4000-8000-00000000a001"


@pytest.fixture(scope="module")
def graph(sidecar: Sidecar, test_db: dict[str, Any]) -> dict[str, Any]:
    """The sidecar's answer before the graph exists, then the graph built into the database's
    folder (the route reads the graph file on each request: no restart)."""
    db = Path(test_db["db"])
    with sidecar.client() as c:
        before = c.post("/identity", json={"endpoint": STASHDB, "stash_id": ALI_SD})
    cli = [sys.executable, "-m", "stash_sense.cli.app", "db", "graph", "build", "--db", str(db)]
    done = subprocess.run(cli, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return {"before": before}


def ask(sidecar: Sidecar, body: Any) -> httpx.Response:
    with sidecar.client() as c:
        return c.post("/identity", json=body)


def test_without_a_graph_it_says_how_to_build_one(graph: dict[str, Any]) -> None:
    before = graph["before"]
    assert before.status_code == 422
    assert "stash-sense db graph build" in before.json()["error"]


def test_one_stash_id_gives_every_endpoint_of_the_identity(
    sidecar: Sidecar, graph: dict[str, Any]
) -> None:
    for endpoint, sid in (
        (STASHDB, ALI_SD),
        (FANSDB, ALI_FD),
        ("https://StashDB.org/graphql/", ALI_SD),
    ):
        got = ask(sidecar, {"endpoint": endpoint, "stash_id": sid})
        assert got.status_code == 200, got.text
        answer = got.json()
        assert answer["name"] == "Ali Naimi"
        pairs = [(s["endpoint"], s["stash_id"]) for s in answer["sources"]]
        assert pairs == [(STASHDB, ALI_SD), (FANSDB, ALI_FD)]  # primary (StashDB) first
        assert [(s["endpoint"], s["stash_id"]) for s in answer["stash_ids"]] == pairs
        first = answer["sources"][0]
        assert first["name"] == "Ali Naimi" and first["image"] == f"/images/{first['performer_id']}"
        assert answer["unknown"] == [] and answer["elsewhere"] == []
    with sidecar.client() as c:  # the picture path is the sidecar's own route
        picture = c.get(first["image"])
    assert picture.status_code == 200 and picture.json()["data_url"].startswith("data:image/")


def test_a_performers_ids_say_which_are_elsewhere_and_unknown(
    sidecar: Sidecar, graph: dict[str, Any]
) -> None:
    unknown = {"endpoint": "https://theporndb.net/graphql", "stash_id": "12345"}
    body = {
        "stash_ids": [
            {"endpoint": FANSDB, "stash_id": ALI_FD},
            {"endpoint": STASHDB, "stash_id": MONICA_SD},
            unknown,
        ]
    }
    answer = ask(sidecar, body).json()
    assert answer["name"] == "Ali Naimi"
    assert answer["matched"] == [{"endpoint": FANSDB, "stash_id": ALI_FD}]
    assert answer["elsewhere"] == [{"endpoint": STASHDB, "stash_id": MONICA_SD}]
    assert answer["unknown"] == [unknown]


def test_an_unknown_id_on_a_known_endpoint_is_404(sidecar: Sidecar, graph: dict[str, Any]) -> None:
    got = ask(sidecar, {"endpoint": STASHDB, "stash_id": "0000-not-there"})
    assert got.status_code == 404
    assert "no performer with stash id 0000-not-there" in got.json()["error"]
    many = ask(sidecar, {"stash_ids": [{"endpoint": FANSDB, "stash_id": "nobody"}]})
    assert many.status_code == 404


def test_an_endpoint_the_graph_does_not_know_is_refused_without_its_secrets(
    sidecar: Sidecar, graph: dict[str, Any]
) -> None:
    got = ask(
        sidecar, {"endpoint": "https://user:hunter2@evil.example/graphql", "stash_id": ALI_SD}
    )
    assert got.status_code == 400
    message = got.json()["error"]
    assert "is no endpoint of the face database's identity graph" in message
    assert STASHDB in message and FANSDB in message  # what it does know
    assert "hunter2" not in got.text


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"endpoint": STASHDB, "stash_id": "'; DROP TABLE records; --"}, "stash_id"),
        ({"endpoint": STASHDB, "stash_id": "../../etc/passwd"}, "stash_id"),
        ({"endpoint": STASHDB, "stash_id": "a\u0000b\u001b[2J"}, "stash_id"),
        ({"endpoint": STASHDB, "stash_id": "x" * 10_000}, "stash_id"),
        ({"endpoint": "javascript:alert(1)", "stash_id": ALI_SD}, "http(s) URL"),
        ({"endpoint": STASHDB}, "endpoint and stash_id"),
        ({"stash_ids": []}, "either endpoint and stash_id"),
        (
            {
                "endpoint": STASHDB,
                "stash_id": ALI_SD,
                "stash_ids": [{"endpoint": FANSDB, "stash_id": ALI_FD}],
            },
            "not both",
        ),
        (
            {"stash_ids": [{"endpoint": STASHDB, "stash_id": f"id{i}"} for i in range(51)]},
            "stash_ids",
        ),
        ({"stash_ids": "everything"}, "stash_ids"),
    ],
)
def test_junk_is_a_400_naming_the_field(
    sidecar: Sidecar, graph: dict[str, Any], body: dict[str, Any], words: str
) -> None:
    got = ask(sidecar, body)
    assert got.status_code == 400, got.text
    assert words in got.json()["error"]


def test_a_body_that_is_no_json_object_is_a_400(sidecar: Sidecar, graph: dict[str, Any]) -> None:
    with sidecar.client() as c:
        got = c.post("/identity", content=b"[1, 2", headers={"Content-Type": "application/json"})
    assert got.status_code == 400
