"""The stash-box client against the stand-in (real schema, real HTTP): paging, the page-size cap,
malformed responses, single performers, and the real server's ways: "not authorized" as HTTP 200,
transient GraphQL errors, no tie-breaker on equal creation times, soft-deleted performers, a
redirect to another host that must not carry the key."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from stash_sense.sources.endpoints import EndpointConfig
from stash_sense.sources.http import AuthError, FetchError
from stash_sense.sources.stashbox import StashBoxClient, parse_performer
from stash_sense_devkit.standins.control import StandIn
from stash_sense_devkit.standins.launch import serve_in_subprocess


def client_for(standin: StandIn, page_size: int = 5, api_key: str | None = None) -> StashBoxClient:
    endpoint = EndpointConfig(
        name="t",
        url=standin.graphql_url,
        rate_limit=200.0,
        page_size=page_size,
        api_key=api_key,  # type: ignore[arg-type]
    )
    return StashBoxClient(endpoint)


@contextmanager
def own_stashbox(faces_dir: Path, *args: str) -> Iterator[StandIn]:
    """A stand-in of the test's own (it is changed or started with other options)."""
    with serve_in_subprocess("stashbox", ["--faces", str(faces_dir), *args]) as base:
        yield StandIn(base)


def test_paging_is_complete_ordered_and_stable(stashbox: StandIn) -> None:
    client = client_for(stashbox)
    first = [p for page in client.iter_pages() for p in page.performers]
    again = [p for page in client.iter_pages() for p in page.performers]
    newest_first = [p for page in client.iter_pages(direction="DESC") for p in page.performers]
    client.close()
    ids = [p.id for p in first]
    assert len(ids) == len(set(ids)) == 31  # 23 + the bad-input performers
    assert ids == [p.id for p in again]
    assert [p.id for p in newest_first] == ids[::-1]
    assert [p.created for p in first] == sorted(p.created or "" for p in first)
    assert first[0].name == "Adam Sandler" and first[5].name == "Adam Sandler 2"
    assert all(p.images for p in first[:23])
    assert first[0].images[0].url.startswith(stashbox.base + "/images/")


def test_a_resumed_pass_continues_where_it_stopped(stashbox: StandIn) -> None:
    client = client_for(stashbox)
    everyone = [p.id for page in client.iter_pages() for p in page.performers]
    tail = [p.id for page in client.iter_pages(start_page=3) for p in page.performers]
    client.close()
    assert tail == everyone[10:]


def test_the_server_page_cap_is_discovered(stashbox: StandIn) -> None:
    client = client_for(stashbox, page_size=50)  # the stand-in caps per_page at 8
    assert client.discover_page_size() == 8
    pages = list(client.iter_pages())
    client.close()
    assert [len(p.performers) for p in pages] == [8, 8, 8, 7]


def test_a_malformed_page_raises_malformed(stashbox: StandIn) -> None:
    stashbox.configure(malformed_pages=[2])
    client = client_for(stashbox)
    assert len(client.performer_page(1).performers) == 5
    with pytest.raises(FetchError) as err:
        client.performer_page(2)
    client.close()
    assert err.value.reason == "malformed"


def test_a_missing_or_wrong_key_is_an_auth_error_though_http_200(stashbox: StandIn) -> None:
    stashbox.configure(api_key="sb-secret-1")
    for key in (None, "wrong"):
        client = client_for(stashbox, api_key=key)
        with pytest.raises(AuthError) as err:
            client.performer_page(1)
        client.close()
        assert "not authorized" in str(err.value) and "STASH_SENSE_T_API_KEY" in str(err.value)
        assert "sb-secret-1" not in str(err.value)
    keyed = client_for(stashbox, api_key="sb-secret-1")
    assert len(keyed.performer_page(1).performers) == 5
    keyed.close()


def test_a_transient_graphql_error_is_transient(stashbox: StandIn) -> None:
    stashbox.configure(graphql_error_rate=1.0)
    client = client_for(stashbox)
    with pytest.raises(FetchError) as err:
        client.performer_page(1)
    client.close()
    assert err.value.reason == "graphql_error" and err.value.transient


def test_the_key_does_not_follow_a_redirect_to_another_host(stashbox: StandIn) -> None:
    client = client_for(stashbox, api_key="sb-secret-2")
    stashbox.configure(api_key="sb-secret-2")
    image = client.performer_page(1).performers[0].images[0].url
    stashbox.configure(redirect_host="localhost", redirect_paths=["/images", "/graphql"])
    before = stashbox.stats()["counts"]
    assert client.session.download_image(image, 10_000_000)[:3] == b"\xff\xd8\xff"
    with pytest.raises(AuthError):  # the API moved to another host: it gets no key
        client.performer_page(1)
    client.close()
    counts = stashbox.stats()["counts"]
    assert counts.get("redirect", 0) - before.get("redirect", 0) == 2
    assert counts.get("key_off_host", 0) == 0


def test_equal_creation_times_shuffle_pages_but_live_ids_holds_everyone(faces_dir: Path) -> None:
    with own_stashbox(faces_dir, "--performers", "40", "--equal-created", "40") as standin:
        client = client_for(standin, page_size=5)
        listings = [[p.id for pg in client.iter_pages() for p in pg.performers] for _ in range(3)]
        live = client.live_ids()
        client.close()
        everyone = set(standin.stats()["ids"])
    # the real server has no tie-breaker: offset paging repeats some and skips others
    assert any(set(ids) != everyone for ids in listings)
    assert live.consistent and live.ids == everyone and live.count == 40


def test_changes_deletions_and_merges(faces_dir: Path) -> None:
    with own_stashbox(faces_dir, "--performers", "12") as standin:
        ids = standin.stats()["ids"]
        since = datetime.now(UTC) - timedelta(seconds=1)
        standin.edit("update", id=ids[0], set={"name": "Renamed"})
        standin.edit("destroy", id=ids[1])
        standin.edit("merge", sources=[ids[2]], target=ids[3])
        client = client_for(standin, page_size=2)  # changes come in one growing page
        before = standin.stats()["counts"].get("graphql", 0)
        changed = {p.id: p for p in client.changed_since(since)}
        requests = standin.stats()["counts"]["graphql"] - before
        destroyed, merged = client.find_performer(ids[1]), client.find_performer(ids[2])
        live = client.live_ids()
        client.close()
    assert set(changed) == {ids[0], ids[3]} and requests == 2
    assert changed[ids[0]].name == "Renamed" and changed[ids[3]].merged_ids == [ids[2]]
    assert destroyed is not None and destroyed.deleted and not destroyed.images
    assert merged is not None and merged.deleted and merged.merged_into == ids[3]
    assert live.ids == set(ids) - {ids[1], ids[2]} and live.count == 10


def test_graphql_errors_are_reported(stashbox: StandIn) -> None:
    client = client_for(stashbox)
    with pytest.raises(FetchError) as err:
        client.graphql("query { noSuchField }", {})
    client.close()
    assert err.value.reason == "graphql_error"
    assert "noSuchField" in str(err.value)


def test_find_performer(stashbox: StandIn) -> None:
    client = client_for(stashbox)
    someone = client.performer_page(1).performers[2]
    found = client.find_performer(someone.id)
    assert found is not None and found.name == someone.name
    assert client.find_performer("00000000-0000-4000-8000-000000000000") is None
    client.close()


@pytest.mark.parametrize(
    "raw",
    [None, [], {"name": "No Id"}, {"id": "x"}, {"id": "x", "name": 5}],
)
def test_performers_without_id_or_name_are_malformed(raw: Any) -> None:
    with pytest.raises(FetchError) as err:
        parse_performer(raw)
    assert err.value.reason == "malformed"


def test_odd_but_usable_fields_are_tolerated() -> None:
    p = parse_performer(
        {
            "id": "a",
            "name": "A",
            "aliases": ["B", 3, None],
            "images": [{"url": "http://x/1"}, {"id": "2"}, "junk"],
            "urls": [{"url": "http://site", "site": None}, {"nope": 1}],
            "merged_ids": ["m1"],
        }
    )
    assert p.aliases == ["B"]
    assert [i.url for i in p.images] == ["http://x/1"]
    assert p.urls == [("http://site", None)]
    assert p.merged_ids == ["m1"]
