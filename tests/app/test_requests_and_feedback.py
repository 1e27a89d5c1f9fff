"""The request models' constraints (one line naming the field), feedback kept in SQLite, and the
release check that compares its newest release with the release installed now."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from stash_sense.app.errors import InvalidInput
from stash_sense.app.failures import FeedbackUnavailable, StorageFull
from stash_sense.app.feedback import FeedbackStore, open_feedback
from stash_sense.app.requests import (
    MAX_TEXT,
    FeedbackRequest,
    IdentifyImageRequest,
    IdentifySceneRequest,
    parse,
)
from stash_sense.app.updates import CHECK_FILE, ReleaseCheck, check_for_update, newer


def test_scene_request_reads_text_numbers_any_case_and_nesting_defaults() -> None:
    given = parse(
        IdentifySceneRequest,
        {"scene_id": 12, "frames": "8", "top": 3, "min_tier": "LIKELY", "source": "Video"},
    )
    assert (given.scene_id, given.frames, given.top) == ("12", 8, 3)
    assert (given.min_tier, given.source) == ("likely", "video")
    default = parse(IdentifySceneRequest, {"scene_id": "1", "frames": None, "min_tier": ""})
    assert (default.frames, default.top, default.min_tier, default.source) == (
        None, 5, "unlikely", "auto",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "scene_id is required"),
        ({"scene_id": "  "}, "scene_id is required"),
        ({"scene_id": "1", "frames": 0}, "frames: "),
        ({"scene_id": "1", "frames": 401}, "frames: "),
        ({"scene_id": "1", "top": True}, "top: must be an integer, got True"),
        ({"scene_id": "1", "top": 2.0}, "top: must be an integer, got 2.0"),
        ({"scene_id": "1", "top": "many"}, "top: must be an integer, got 'many'"),
        ({"scene_id": "1", "min_tier": "great"}, "min_tier: a tier is one of high"),
        ({"scene_id": "1", "source": "ftp"}, "source: "),
        ({"scene_id": "x" * (MAX_TEXT + 1)}, f"scene_id is longer than {MAX_TEXT} characters"),
    ],
)
def test_scene_request_refusals_name_the_field(body: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse(IdentifySceneRequest, body)
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value) and "pydantic" not in str(err.value)


def test_identify_options_come_as_text_from_forms() -> None:
    assert parse(IdentifyImageRequest, {"top": " 7 ", "ignored": "x"}).top == 7
    with pytest.raises(InvalidInput, match="top: "):
        parse(IdentifyImageRequest, {"top": "51"})


def test_feedback_is_kept_bounded_and_listed_newest_first(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "feedback.sqlite")
    first = store.add(parse(FeedbackRequest, {"verdict": "rejected", "scene_id": 4,
                                              "performer_id": "7", "person_id": ""}))  # fmt: skip
    assert (first.id, first.scene_id, first.performer_id, first.person_id) == (1, "4", 7, None)
    store.add(parse(FeedbackRequest, {"verdict": "accepted", "stash_id": "abc"}))
    assert [r.verdict for r in store.recent()] == ["accepted", "rejected"]
    assert store.recent()[1] == first
    for body, message in [
        ({"verdict": "maybe"}, "verdict: "),
        ({"verdict": "accepted", "person_id": 2**63}, "person_id: "),
        ({"verdict": "accepted", "endpoint": "e" * 300}, "endpoint is longer than 256"),
    ]:
        with pytest.raises(InvalidInput, match=message):
            parse(FeedbackRequest, body)
    store.close()


def test_a_full_feedback_file_and_an_unwritable_folder(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "small.sqlite", max_bytes=16 * 1024)
    row = parse(FeedbackRequest, {"verdict": "accepted", "stash_id": "s" * MAX_TEXT})
    with pytest.raises(StorageFull):
        for _ in range(1000):
            store.add(row)
    kept = len(store.recent())
    assert 0 < kept < 1000
    store.close()
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    off = open_feedback(blocker / "feedback.sqlite")
    with pytest.raises(FeedbackUnavailable, match="feedback is off"):
        off.add(row)


def test_release_check_compares_with_the_release_installed_now(tmp_path: Path) -> None:
    root = tmp_path / "db"
    gen1, gen2 = root / "gen-000001", root / "gen-000002"
    for gen, version in ((gen1, "1.0"), (gen2, "2.0")):
        gen.mkdir(parents=True)
        (gen / "manifest.json").write_text("{}")
        (gen / "release.json").write_text(json.dumps({"manifest": {"version": version}}))
    (root / "current").symlink_to(gen2.name)
    check = ReleaseCheck(tmp_path / "data", root)
    assert check.status("idle").available is None  # never checked
    check.save({"current": "1.0", "newest": "2.0", "available": True})
    assert check.checked_at() == pytest.approx(time.time(), abs=60)
    now = check.status("idle")
    assert (now.current, now.newest, now.available) == ("2.0", "2.0", False)
    (root / "current").unlink()
    (root / "current").symlink_to(gen1.name)  # a rollback
    back = check.status("idle")
    assert (back.current, back.available, back.checked_at is not None) == ("1.0", True, True)
    check.save({"error": "index unreachable"})
    failed = check.status("idle")
    assert (failed.available, failed.error) == (None, "index unreachable")
    (tmp_path / "data" / CHECK_FILE).write_text("not json")
    assert check.status("running").update == "running"


def test_newer_compares_versions_as_numbers() -> None:
    assert newer("2026.12.1", "2026.11.30") and not newer("1.0", "1.0")
    assert newer("1.0", None) and not newer(None, "1.0")
    assert not newer("1.9", "1.10")


@pytest.mark.parametrize(
    "index", ["ftp://host/index.json", "not a url", "http://127.0.0.1:99999/index.json"]
)
def test_a_malformed_index_url_is_invalid_input(index: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="URL"):
        check_for_update(index, tmp_path / "db")
