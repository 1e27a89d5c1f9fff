"""The Stash stand-in keeps performers as Stash does, so the plugin's Add, Link and Use it are
tested against the real rules. Stash ids (stashapp/stash pkg/models/stash_ids.go):
PerformerUpdateInput.stash_ids replaces the whole list, an id sent without `updated_at` is stamped
with the time now, a repeated endpoint + stash_id is kept once. Names (pkg/performer/validate.go):
one performer per name and disambiguation, compared without case.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from stash_sense_devkit.standins.launch import serve_in_thread
from stash_sense_devkit.standins.stash import stash_app

STASHDB = "https://stashdb.org/graphql"
PMV = "https://pmvstash.org/graphql"
IDS = "stash_ids { endpoint stash_id updated_at }"


@pytest.fixture
def stash(tmp_path: Path) -> Iterator[str]:
    with serve_in_thread(stash_app(tmp_path)) as base:
        yield base


def gql(base: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    payload = answer(base, query, variables)
    assert "errors" not in payload, payload
    data: dict[str, Any] = payload["data"]
    return data


def answer(base: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    body = {"query": query, "variables": variables}
    payload: dict[str, Any] = httpx.post(f"{base}/graphql", json=body, timeout=10).json()
    return payload


def create(base: str, stash_ids: list[dict[str, str]], name: str = "A") -> dict[str, Any]:
    query = f"mutation C($i: PerformerCreateInput!) {{ performerCreate(input: $i) {{ id {IDS} }} }}"
    made: dict[str, Any] = gql(base, query, {"i": {"name": name, "stash_ids": stash_ids}})
    performer: dict[str, Any] = made["performerCreate"]
    return performer


def update(base: str, pid: str, stash_ids: list[dict[str, str]]) -> list[dict[str, str]]:
    query = f"mutation U($i: PerformerUpdateInput!) {{ performerUpdate(input: $i) {{ {IDS} }} }}"
    done = gql(base, query, {"i": {"id": pid, "stash_ids": stash_ids}})
    ids: list[dict[str, str]] = done["performerUpdate"]["stash_ids"]
    return ids


def test_an_id_without_updated_at_is_stamped_now(stash: str) -> None:
    made = create(stash, [{"endpoint": STASHDB, "stash_id": "a"}])
    stamped = datetime.fromisoformat(made["stash_ids"][0]["updated_at"])
    assert abs(datetime.now(UTC) - stamped) < timedelta(minutes=1)


def test_an_id_sent_back_with_its_time_keeps_it_and_the_list_is_replaced(
    stash: str,
) -> None:
    old = {"endpoint": PMV, "stash_id": "p", "updated_at": "2024-02-03T04:05:06Z"}
    pid = create(stash, [old, {"endpoint": STASHDB, "stash_id": "gone"}])["id"]
    ids = update(stash, pid, [old, {"endpoint": STASHDB, "stash_id": "a"}])
    assert ids[0] == old
    assert [(s["endpoint"], s["stash_id"]) for s in ids] == [(PMV, "p"), (STASHDB, "a")]


def test_an_id_sent_back_without_its_time_loses_it(stash: str) -> None:
    old = {"endpoint": PMV, "stash_id": "p", "updated_at": "2024-02-03T04:05:06Z"}
    pid = create(stash, [old])["id"]
    ids = update(stash, pid, [{"endpoint": PMV, "stash_id": "p"}])
    assert ids[0]["updated_at"] != old["updated_at"]


def test_a_repeated_id_is_kept_once(stash: str) -> None:
    first = {"endpoint": STASHDB, "stash_id": "a", "updated_at": "2024-01-01T00:00:00Z"}
    made = create(stash, [first, {**first, "updated_at": "2025-01-01T00:00:00Z"}])
    assert made["stash_ids"] == [first]


CREATE = "mutation C($i: PerformerCreateInput!) { performerCreate(input: $i) { id } }"
UPDATE = "mutation U($i: PerformerUpdateInput!) { performerUpdate(input: $i) { id } }"


def test_a_second_performer_with_the_same_name_and_disambiguation_is_refused(stash: str) -> None:
    create(stash, [], name="Tommy Thompson")
    refused = answer(stash, CREATE, {"i": {"name": "tommy thompson"}})
    assert refused["data"] == {"performerCreate": None}
    assert [e["message"] for e in refused["errors"]] == [
        "performer with name 'tommy thompson' already exists"
    ]
    other = answer(stash, CREATE, {"i": {"name": "Tommy Thompson", "disambiguation": "LFW"}})
    assert "errors" not in other, other
    again = answer(stash, CREATE, {"i": {"name": "Tommy Thompson", "disambiguation": "lfw"}})
    assert [e["message"] for e in again["errors"]] == [
        "performer with name 'Tommy Thompson' and disambiguation 'lfw' already exists"
    ]


def test_a_rename_onto_another_performer_is_refused_but_not_onto_itself(stash: str) -> None:
    create(stash, [], name="Tommy Thompson")
    pid = create(stash, [], name="Tom Thompson")["id"]
    assert "errors" not in answer(stash, UPDATE, {"i": {"id": pid, "name": "Tom Thompson"}})
    refused = answer(stash, UPDATE, {"i": {"id": pid, "name": "Tommy Thompson"}})
    assert [e["message"] for e in refused["errors"]] == [
        "performer with name 'Tommy Thompson' already exists"
    ]
