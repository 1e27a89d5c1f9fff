"""Library health against the Stash stand-in over real HTTP, with the real models: local
performers whose images match a database performer get a link carrying every stash id of it,
duplicates (a shared stash id, one face) a merge, a scanned scene whose tags and faces disagree a
check; dismissals stick across a refresh and a rescan, undo brings an item back."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from scan_stash import add_scanned_scene, make_scenes

from stash_sense.app.library_health import HealthRunner, decide_health, list_health, undo_health
from stash_sense.app.library_models import HealthDecisionRequest, HealthQuery
from stash_sense.app.recognizer import Recognizer
from stash_sense.library import (
    LibraryScan,
    LibraryStore,
    ScanOptions,
    ScanScope,
    health_cache,
    health_refresh,
)
from stash_sense.library.health_scenes import tagged_faces
from stash_sense.library.identity import to_blob
from stash_sense.sources.stash import StashClient
from stash_sense_devkit.standins.launch import serve_in_subprocess

STASHDB = "https://stashdb.org/graphql"
FANSDB = "https://fansdb.cc/graphql"
MONICA = "5b1f0a4e-0000-4000-8000-00000000a001"
NOT_IN_DATABASE = "5b1f0a4e-0000-4000-8000-00000000dead"
ALI_STASHDB, ALI_FANSDB = (
    "5b1f0a4e-0000-4000-8000-00000000a002",
    "7c2e1b5f-0000-4000-8000-00000000b002",
)


def _image(data_dir: Path, who: str, n: int) -> str:
    data = (data_dir / "faces" / "lfw-dev" / who / f"{n}.jpg").read_bytes()
    return "data:image/jpeg;base64," + base64.b64encode(data).decode()


def _gql(url: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    answer = httpx.post(f"{url}/graphql", json={"query": query, "variables": variables}).json()
    assert not answer.get("errors"), answer
    return answer["data"]  # type: ignore[no-any-return]


def _create(url: str, **values: Any) -> str:
    found = _gql(url, "mutation($i: PerformerCreateInput!) { performerCreate(input: $i) { id } }",
                 {"i": values})  # fmt: skip
    return str(found["performerCreate"]["id"])


@pytest.fixture(scope="module")
def stash(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Iterator[dict[str, str]]:
    scenes = make_scenes(tmp_path_factory.mktemp("health"), data_dir, 2)
    with serve_in_subprocess("stash", ["--scenes", str(scenes)]) as url:
        ids = {
            "url": url,
            "monica": _create(url, name="Monica S", image=_image(data_dir, "Monica_Seles", 2)),
            "monica2": _create(url, name="M. Seles", image=_image(data_dir, "Monica_Seles", 5)),
            # this photo's match is "likely" with the small test database: kept apart
            "unsure": _create(url, name="Unsure", image=_image(data_dir, "Monica_Seles", 1)),
            "ali": _create(url, name="Ali", image=_image(data_dir, "Ali_Naimi", 1),
                           stash_ids=[{"endpoint": FANSDB, "stash_id": ALI_FANSDB}]),
            "ali2": _create(url, name="Ali N (2)",
                            stash_ids=[{"endpoint": FANSDB, "stash_id": ALI_FANSDB}]),
            "stranger": _create(url, name="Stranger", image=_image(data_dir, "Adam_Sandler", 0),
                                stash_ids=[{"endpoint": STASHDB, "stash_id": NOT_IN_DATABASE}]),
        }  # fmt: skip
        # scene 1: Stash has Ali (seen) and the stranger (not in it) on it
        _gql(url, "mutation($i: SceneUpdateInput!) { sceneUpdate(input: $i) { id } }",
             {"i": {"id": "1", "performer_ids": [ids["ali"], ids["stranger"]]}})  # fmt: skip
        yield ids


def _items(store: LibraryStore, kind: str, **extra: Any) -> list[Any]:
    return list_health(store, HealthQuery(kind=kind, **extra)).items  # type: ignore[arg-type]


def test_link_merge_check_and_sticky_dismissals(
    stash: dict[str, str], recognizer: Recognizer, tmp_path: Path
) -> None:
    store = LibraryStore.in_folder(tmp_path)
    runner = HealthRunner(store, stash["url"], None, lambda: nullcontext(recognizer))
    runner.start()
    runner.wait()
    status = runner.status()
    assert not status.running and status.reason is None, status
    assert (status.done, status.total, status.failed) == (6, 6, 0)
    assert (status.links, status.likely_links) == (3, 1)

    links = {i.performer.id: i for i in _items(store, "link")}  # type: ignore[union-attr]
    assert set(links) == {stash["monica"], stash["monica2"], stash["ali"]}, links
    monica = links[stash["monica"]]
    assert monica.match is not None and monica.match.name == "Monica Seles"
    assert monica.match.tier == "high"
    assert [(s.endpoint, s.stash_id) for s in monica.apply_stash_ids or []] == [(STASHDB, MONICA)]
    ali = links[stash["ali"]]  # keeps its fansdb id, gains the stashdb one
    assert {(s.endpoint, s.stash_id) for s in ali.apply_stash_ids or []} == {
        (FANSDB, ALI_FANSDB), (STASHDB, ALI_STASHDB)}  # fmt: skip
    [likely] = _items(store, "link", tier="likely")
    assert likely.performer is not None and likely.performer.id == stash["unsure"]

    merges = [({p.id for p in i.performers or []}, i) for i in _items(store, "merge")]
    faces = next(i for ids, i in merges if {stash["monica"], stash["monica2"]} <= ids)
    assert any("both images match Monica Seles" in e for e in faces.evidence)
    [(ids, shared)] = [(ids, i) for ids, i in merges if stash["ali2"] in ids]
    assert ids == {stash["ali"], stash["ali2"]}  # the same fansdb id
    assert any("both linked to" in e for e in shared.evidence)
    assert all(stash["stranger"] not in ids for ids, _ in merges)

    # dismissed: gone, and still gone after another refresh; undo brings it back
    dismissed = decide_health(store, HealthDecisionRequest(item_id=monica.id, kind="dismiss"))
    assert monica.id not in {i.id for i in _items(store, "link")}
    runner.start()
    runner.wait()
    assert monica.id not in {i.id for i in _items(store, "link")}
    undo_health(store, dismissed.id)
    assert monica.id in {i.id for i in _items(store, "link")}

    # check this scene: a scan of all scenes; scene 1 has the stranger tagged, not seen, and
    # people seen that are not tagged (Ali, tagged and seen, is neither)
    options = ScanOptions(scope=ScanScope.ALL, frames=8, per_page=2, niceness=0,
                          memory_ceiling_mb=1e9)  # fmt: skip
    client = StashClient(stash["url"])
    LibraryScan(store, client, lambda: nullcontext(recognizer), options).run()
    with store.transaction() as db:  # the scan computed each scene's suggestion summary
        assert db.execute("SELECT COUNT(*) FROM summaries_due").fetchone()[0] == 0
        assert db.execute("SELECT COUNT(*) FROM scene_summaries").fetchone()[0] == 2
    [check] = _items(store, "check")
    assert check.scene_id == "1"
    assert [(m.id, m.name) for m in check.missing or []] == [(stash["stranger"], "Stranger")]
    untagged = {u.candidate.name for u in check.untagged or []}
    assert "Ali Naimi" not in untagged and untagged <= {"Monica Seles", "Tommy Thompson"}
    assert untagged, check
    # with the face database at hand, the stranger's stash id is not in it: its face could
    # not have been found, so it is not claimed as "not seen" (the faces seen still are)
    use = lambda: nullcontext(recognizer)  # noqa: E731
    [known] = list_health(store, HealthQuery(kind="check"), use).items
    assert known.missing == [] and known.untagged == check.untagged, known
    decide_health(store, HealthDecisionRequest(item_id=known.id, kind="apply"), use)
    decide_health(store, HealthDecisionRequest(item_id=check.id, kind="apply"))
    assert _items(store, "check") == []
    LibraryScan(
        store,
        client,
        lambda: nullcontext(recognizer),
        ScanOptions(**{**options.__dict__, "scope": ScanScope.ALL}),
    ).run(resume=False)
    assert _items(store, "check") == []  # the same finding after a rescan stays decided
    client.close()
    store.close()


def test_a_refresh_reads_again_only_the_performers_stash_changed(
    stash: dict[str, str],
    recognizer: Recognizer,
    data_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(health_refresh, "SETTLE_S", 0.0)  # the fixture's performers are new
    store = LibraryStore.in_folder(tmp_path)
    runner = HealthRunner(store, stash["url"], None, lambda: nullcontext(recognizer))

    def refresh() -> tuple[int, int, set[str]]:
        runner.start()
        runner.wait()
        status = runner.status()
        assert status.reason is None, status
        high = {i.performer.id for i in _items(store, "link")}  # type: ignore[union-attr]
        return status.total, status.unchanged, high

    everyone, kept, links = refresh()
    assert kept == 0 and everyone >= 6 and stash["unsure"] not in links
    assert refresh() == (0, everyone, links)  # nothing changed: nothing read, the same items
    set_image = "mutation($i: PerformerUpdateInput!) { performerUpdate(input: $i) { id } }"
    sharper = _image(data_dir, "Monica_Seles", 2)
    _gql(stash["url"], set_image, {"i": {"id": stash["unsure"], "image": sharper}})
    try:
        read, kept, after = refresh()  # only the changed performer is read again
        assert (read, kept) == (1, everyone - 1)
        assert after == links | {stash["unsure"]}  # its new picture is a "high" link
        # another face database: every performer is read again
        monkeypatch.setattr(health_cache, "database_key", lambda db: "another database")
        assert refresh()[:2] == (everyone, 0)
    finally:
        blurry = _image(data_dir, "Monica_Seles", 1)
        _gql(stash["url"], set_image, {"i": {"id": stash["unsure"], "image": blurry}})
    store.close()


def test_a_stamp_from_the_last_seconds_is_read_again() -> None:
    """Stash keeps whole seconds: an edit later in the same second keeps the stamp."""
    assert health_refresh._settled("2026-01-01T10:00:00Z", now=1767261601.5) == ""
    assert health_refresh._settled("2026-01-01T10:00:00Z", now=1767261603.0) != ""
    assert health_refresh._settled("not a time", now=0) == ""


def test_a_check_with_two_faces_not_tagged(tmp_path: Path) -> None:
    """Found by the library benchmark on a builder-made database: two untagged "high" faces with
    stash ids in one scene made the digest sort dicts (TypeError, a 500 on the page)."""
    store = LibraryStore.in_folder(tmp_path)
    with store.transaction() as db:
        db.execute(
            "INSERT INTO scenes (scene_id, stash_updated_at, title, status, scanned_at, "
            "logic_version) VALUES ('9', '2026-01-01T00:00:00Z', 'two strangers', 'done', 0, 1)"
        )
        other = f'[{{"endpoint": "{STASHDB}", "stash_id": "{NOT_IN_DATABASE}"}}]'
        db.execute("INSERT INTO scene_performers VALUES ('9', '77', 'Someone Else', ?)", (other,))
        for person, (name, sid) in enumerate([("Monica Seles", MONICA), ("Ali", ALI_STASHDB)]):
            db.execute("INSERT INTO persons (scene_id, person_id, frames, times) "
                       "VALUES ('9', ?, 5, '[]')", (person,))  # fmt: skip
            db.execute(
                "INSERT INTO candidates VALUES ('9', ?, 0, ?, ?, NULL, 0.2, 'high', ?, NULL, 0, "
                "NULL)",
                (person, person + 1, name, f'[{{"endpoint": "{STASHDB}", "stash_id": "{sid}"}}]'),
            )
    [check] = _items(store, "check")
    assert {u.candidate.name for u in check.untagged or []} == {"Monica Seles", "Ali"}
    assert [(m.id, m.name) for m in check.missing or []] == [("77", "Someone Else")]
    store.close()


def test_no_face_is_claimed_not_tagged_beside_a_tagged_performer_without_stash_ids(
    tmp_path: Path,
) -> None:
    """Found by the library benchmark: Ray Allen, tagged by a local performer without a stash id,
    was seen, matched a database performer with one, and the scene was flagged "not tagged"."""
    store = LibraryStore.in_folder(tmp_path)
    with store.transaction() as db:
        db.execute(
            "INSERT INTO scenes (scene_id, stash_updated_at, title, status, scanned_at, "
            "logic_version) VALUES ('5', '2026-01-01T00:00:00Z', 'tagged', 'done', 0, 1)"
        )
        db.execute("INSERT INTO scene_performers VALUES ('5', '12', 'Monica', '[]')")
        db.execute("INSERT INTO persons (scene_id, person_id, frames, times) "
                   "VALUES ('5', 0, 5, '[]')")  # fmt: skip
        db.execute(
            "INSERT INTO candidates VALUES ('5', 0, 0, 1, 'Monica Seles', NULL, 0.2, 'high', ?, "
            "NULL, 0, NULL)", (f'[{{"endpoint": "{STASHDB}", "stash_id": "{MONICA}"}}]',),
        )  # fmt: skip
    assert _items(store, "check") == []
    store.close()


def test_merge_evidence_from_the_faces_of_tagged_scenes(tmp_path: Path) -> None:
    """Two local performers without pictures, each the only one tagged on a scene where the scan
    found one person: close faces that name one database performer at "high" make a merge item
    with both scenes as evidence."""
    rng = np.random.default_rng(21)
    face = rng.normal(size=128).astype(np.float32)
    store = LibraryStore.in_folder(tmp_path)
    near = face + 0.05 * rng.normal(size=128)
    tagged: dict[str, tuple[str, Any]] = {
        "1": ("30", face), "2": ("31", near), "3": ("32", rng.normal(size=128)), "4": ("33", face)
    }  # fmt: skip
    for scene, (performer, vector) in tagged.items():
        add_scanned_scene(store, scene, performer, vector, (7, "high", []), name="Monica Seles")
    with store.transaction() as db:
        # scene 4 has a second person: whose face is whose is unknown, so it is no evidence
        db.execute("INSERT INTO persons (scene_id, person_id, frames, times, embedder, vector) "
                   "VALUES ('4', 1, 5, '[]', 'sface', ?)", (to_blob(face),))  # fmt: skip
    locals_ = [health_refresh.LocalPerformer(pid, f"P{pid}", None, None, 1, [])
               for pid in ("30", "31", "32", "33")]  # fmt: skip
    faces = tagged_faces(store)
    assert sorted(faces) == ["30", "31", "32"]
    [item] = health_refresh.merge_items(locals_, 0.3, faces)
    assert [p["id"] for p in item["performers"]] == ["30", "31"]
    assert any("scene 1 person 1 and scene 2 person 1" in e for e in item["evidence"]), item
    store.close()
