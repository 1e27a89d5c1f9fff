"""The stash-box client against the stand-in (real schema, real HTTP): stable paging, the
server's page-size cap, malformed responses, single performers, removals."""

from __future__ import annotations

from typing import Any

import pytest

from stash_sense.sources.endpoints import EndpointConfig
from stash_sense.sources.http import FetchError
from stash_sense.sources.stashbox import StashBoxClient, parse_performer
from stash_sense_devkit.standins.control import StandIn


def client_for(standin: StandIn, page_size: int = 5) -> StashBoxClient:
    endpoint = EndpointConfig(
        name="t", url=standin.graphql_url, rate_limit=200.0, page_size=page_size
    )
    return StashBoxClient(endpoint)


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


def test_graphql_errors_are_reported(stashbox: StandIn) -> None:
    client = client_for(stashbox)
    with pytest.raises(FetchError) as err:
        client.graphql("query { noSuchField }", {})
    client.close()
    assert err.value.reason == "graphql_error"
    assert "noSuchField" in str(err.value)


def test_find_performer_and_removals(stashbox: StandIn) -> None:
    client = client_for(stashbox)
    someone = client.performer_page(1).performers[2]
    found = client.find_performer(someone.id)
    assert found is not None and found.name == someone.name
    assert client.find_performer("00000000-0000-4000-8000-000000000000") is None
    assert list(client.removed_since(None)) == []  # nothing destroyed on this stand-in
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
