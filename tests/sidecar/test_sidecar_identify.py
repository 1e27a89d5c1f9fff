"""The sidecar over HTTP: health, API key, /identify in every input form, /identify/performer,
/feedback and /database/info."""

from __future__ import annotations

import base64
import shutil
from pathlib import Path
from typing import Any

import httpx
from sidecarproc import API_KEY, Sidecar

STASHDB = "https://stashdb.org/graphql"


def test_health_needs_no_key_and_status_does(sidecar: Sidecar) -> None:
    health = httpx.get(sidecar.url + "/health").json()
    assert health == {
        "status": "ok", "version": health["version"], "database": {"loaded": True},
        "feedback": True,
    }  # fmt: skip
    assert httpx.get(sidecar.url + "/status").status_code == 401
    with sidecar.client() as c:
        status = c.get("/status").json()
    assert status["database"]["performers"] == 8
    assert set(status["models"]) == {"sface", "dlib"}
    assert status["version"] and status["uptime_s"] >= 0


def test_every_other_endpoint_needs_the_key(sidecar: Sidecar) -> None:
    for key in (None, "wrong-key"):
        with sidecar.client(key) as c:
            for method, path in [("GET", "/database/info"), ("POST", "/identify"),
                                 ("POST", "/identify/scene"), ("GET", "/feedback")]:  # fmt: skip
                r = c.request(method, path)
                assert r.status_code == 401, (path, r.text)
                assert r.json() == {"error": "missing or wrong API key (X-API-Key)"}


def _top_names(record: dict[str, Any]) -> list[str]:
    return [face["matches"][0]["name"] for face in record["faces"] if face["matches"]]


def test_identify_multipart_base64_and_raw(sidecar: Sidecar, data_dir: Path) -> None:
    photo = data_dir / "faces" / "lfw-dev" / "Monica_Seles" / "4.jpg"
    data = photo.read_bytes()
    with sidecar.client() as c:
        multipart = c.post("/identify", files={"image": ("monica.jpg", data, "image/jpeg")})
        b64 = c.post("/identify", json={"image": base64.b64encode(data).decode(), "top": 2})
        raw = c.post("/identify", content=data, headers={"Content-Type": "image/jpeg"})
    for r in (multipart, b64, raw):
        assert r.status_code == 200, r.text
        record = r.json()
        assert _top_names(record) == ["Monica Seles"]
        face = record["faces"][0]
        assert len(face["box"]) == 4 and face["quality"]["usable"] in (True, False)
        assert face["matches"][0]["tier"] in ("high", "likely", "possible")
        assert face["matches"][0]["stash_ids"] == [
            {"endpoint": STASHDB, "stash_id": "5b1f0a4e-0000-4000-8000-00000000a001"}
        ]
    assert multipart.json()["image"] == "monica.jpg"
    assert len(b64.json()["faces"][0]["matches"]) <= 2


def test_identify_refuses_bad_images_and_foreign_urls(sidecar: Sidecar) -> None:
    with sidecar.client() as c:
        not_image = c.post("/identify", files={"image": ("x.jpg", b"hello", "image/jpeg")})
        assert not_image.status_code == 422
        assert not_image.json()["error"].startswith("not an image")
        bad_b64 = c.post("/identify", json={"image": "%%%"})
        assert bad_b64.status_code == 400 and "base64" in bad_b64.json()["error"]
        foreign = c.post("/identify", json={"url": "http://169.254.169.254/latest/meta-data"})
        assert foreign.status_code == 400 and "only the Stash host" in foreign.json()["error"]
        nothing = c.post("/identify", json={})
        assert nothing.status_code == 400 and "send an image" in nothing.json()["error"]
        bad_top = c.post("/identify", json={"image": "AAAA", "top": "many"})
        assert bad_top.status_code == 400 and "top" in bad_top.json()["error"]


def _stand_in_gql(stash_url: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    body = httpx.post(stash_url + "/graphql", json={"query": query, "variables": variables})
    payload: dict[str, Any] = body.json()
    assert not payload.get("errors"), payload
    return payload["data"]


def test_identify_performer_and_url_read_the_image_from_stash(
    sidecar: Sidecar, stash_url: str, data_dir: Path
) -> None:
    photo = data_dir / "faces" / "lfw-dev" / "Tommy_Thompson" / "3.jpg"
    image = "data:image/jpeg;base64," + base64.b64encode(photo.read_bytes()).decode()
    created = _stand_in_gql(
        stash_url,
        "mutation C($i: PerformerCreateInput!) { performerCreate(input: $i) { id } }",
        {"i": {"name": "Someone", "image": image}},
    )["performerCreate"]["id"]
    with sidecar.client() as c:
        r = c.post("/identify/performer", json={"performer_id": created})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["performer_id"] == created and body["name"] == "Someone"
        assert body["matches"][0]["name"] == "Tommy Thompson"
        assert body["faces"][0]["matches"] == body["matches"]
        by_url = c.post("/identify", json={"url": f"{stash_url}/performer/{created}/image"})
        assert by_url.status_code == 200, by_url.text
        assert _top_names(by_url.json()) == ["Tommy Thompson"]
        missing = c.post("/identify/performer", json={"performer_id": "99999"})
        assert missing.status_code == 404 and "99999" in missing.json()["error"]
        empty = c.post("/identify/performer", json={})
        assert empty.status_code == 400


def test_feedback_is_kept_and_listed(sidecar: Sidecar) -> None:
    entry = {"scene_id": "1", "person_id": 0, "performer_id": 2, "endpoint": STASHDB,
             "stash_id": "5b1f0a4e-0000-4000-8000-00000000a001", "verdict": "rejected"}  # fmt: skip
    with sidecar.client() as c:
        saved = c.post("/feedback", json=entry)
        assert saved.status_code == 200, saved.text
        assert saved.json()["saved"]["verdict"] == "rejected"
        c.post("/feedback", json={**entry, "verdict": "accepted"}).raise_for_status()
        bad = c.post("/feedback", json={**entry, "verdict": "maybe"})
        assert bad.status_code == 400 and "verdict" in bad.json()["error"]
        rows = c.get("/feedback").json()["feedback"]
    assert [r["verdict"] for r in rows[:2]] == ["accepted", "rejected"]
    assert rows[1]["stash_id"] == entry["stash_id"] and rows[1]["performer_id"] == 2


def test_database_info_gives_manifest_and_counts_per_source(sidecar: Sidecar) -> None:
    with sidecar.client() as c:
        info = c.get("/database/info").json()
    assert info["counts"]["performers"] == 8
    assert info["manifest"]["format"] == "stash-sense-db"
    assert info["stash_ids_per_endpoint"] == {
        "https://fansdb.cc/graphql": 1,
        "https://stashdb.org/graphql": 2,
    }
    assert "enroll" in info["sources"]


def test_wrong_key_never_reaches_the_log(sidecar: Sidecar) -> None:
    with sidecar.client("a-secret-guess") as c:
        c.get("/feedback")
    log = sidecar.log.read_text()
    assert "a-secret-guess" not in log and API_KEY not in log


def test_reload_takes_the_configured_database_or_one_under_the_data_folder(
    sidecar: Sidecar, test_db: dict[str, Any], tmp_path: Path
) -> None:
    """Any other folder is refused in the same words whether it exists, holds a database, or
    not: the answer tells nothing about the sidecar's file system."""
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(test_db["db"], elsewhere, symlinks=True)
    inside = sidecar.log.parent / "copied-db"  # the sidecar's data folder
    shutil.copytree(test_db["db"], inside, symlinks=True, dirs_exist_ok=True)
    with sidecar.client() as c:
        refused = {
            str(p): c.post("/database/reload", json={"path": str(p)})
            for p in (elsewhere, tmp_path / "missing", Path("/etc"), inside / ".." / "..")
        }
        for path, r in refused.items():
            assert r.status_code == 400, (path, r.text)
        words = {r.json()["error"].replace(path, "PATH") for path, r in refused.items()}
        assert len(words) == 1, words
        assert c.get("/database/info").json()["path"] == str(test_db["db"])
        loaded = c.post("/database/reload", json={"path": str(inside)})
        assert loaded.status_code == 200, loaded.text
        assert loaded.json()["path"] == str(inside)
        back = c.post("/database/reload", json={})
        assert back.status_code == 200 and back.json()["path"] == str(test_db["db"])
        same = c.post("/database/reload", json={"path": str(test_db["db"])})
        assert same.status_code == 200, same.text


def test_min_tier_and_bad_options_of_identify(sidecar: Sidecar, data_dir: Path) -> None:
    data = (data_dir / "faces" / "lfw-dev" / "Monica_Seles" / "4.jpg").read_bytes()
    with sidecar.client() as c:
        every = c.post("/identify", files={"image": ("m.jpg", data)}, data={"top": "5"})
        high = c.post("/identify", files={"image": ("m.jpg", data)}, data={"min_tier": "High"})
        fraction = c.post("/identify", json={"image": "AAAA", "top": 2.5})
        too_many = c.post("/identify", json={"image": "AAAA", "top": 51})
    assert every.status_code == 200 and high.status_code == 200, (every.text, high.text)
    tiers = [m["tier"] for m in every.json()["faces"][0]["matches"]]
    assert len(tiers) == 5 and "unlikely" in tiers
    kept = [m["tier"] for m in high.json()["faces"][0]["matches"]]
    assert kept == [t for t in tiers if t == "high"]
    assert fraction.status_code == 400 and fraction.json()["error"].startswith("top: must be")
    assert too_many.status_code == 400 and "top" in too_many.json()["error"]
