"""The ThePornDB client against the ThePornDB stand-in (REST, Bearer token, real HTTP)."""

from __future__ import annotations

import pytest

from stash_sense.sources.endpoints import EndpointConfig
from stash_sense.sources.http import AuthError, FetchError
from stash_sense.sources.tpdb import TpdbClient, parse_tpdb_performer, stash_ids_from_links
from stash_sense_devkit.standins.control import StandIn


def client_for(standin: StandIn, api_key: str | None = None) -> TpdbClient:
    endpoint = EndpointConfig(
        name="tpdb-test",
        url=standin.base,
        kind="tpdb",
        rate_limit=200.0,
        page_size=5,
        api_key=api_key,  # type: ignore[arg-type]
        stash_endpoint="https://theporndb.net/graphql",
    )
    return TpdbClient(endpoint)


def test_pages_posters_and_stash_ids(tpdb: StandIn) -> None:
    client = client_for(tpdb)
    pages = list(client.iter_pages())
    client.close()
    performers = [p for page in pages for p in page.performers]
    assert [len(p.performers) for p in pages] == [5, 5, 2]
    assert pages[0].count == 12
    assert len({p.id for p in performers}) == 12
    first = performers[0]
    assert first.name == "Adam Sandler"
    assert first.images[0].url.startswith(tpdb.base + "/images/")
    assert len(first.images) == 2
    (endpoint, stash_id), *_ = first.other_stash_ids
    assert endpoint == "https://stashdb.org/graphql" and len(stash_id) == 36


def test_bearer_token_required(tpdb: StandIn) -> None:
    tpdb.configure(api_key="tpdb-secret-1")
    anonymous = client_for(tpdb)
    with pytest.raises(AuthError) as err:
        anonymous.performer_page(1)
    anonymous.close()
    assert "tpdb-secret-1" not in str(err.value)
    keyed = client_for(tpdb, api_key="tpdb-secret-1")
    assert len(keyed.performer_page(1).performers) == 5
    keyed.close()


def test_links_only_to_known_stashboxes_become_ids() -> None:
    uuid = "0f0e5c55-7d7e-4a63-9e2e-1d2b3c4d5e6f"
    links = {
        "StashDB": f"https://stashdb.org/performers/{uuid}",
        "Other": f"https://evil.example/performers/{uuid}",
        "Twitter": "https://twitter.com/someone",
    }
    assert stash_ids_from_links(links) == [("https://stashdb.org/graphql", uuid)]
    assert stash_ids_from_links([{"url": f"https://fansdb.cc/performers/{uuid}"}]) == [
        ("https://fansdb.cc/graphql", uuid)
    ]


def test_malformed_tpdb_performers() -> None:
    with pytest.raises(FetchError):
        parse_tpdb_performer({"name": "no id"})
    p = parse_tpdb_performer(
        {"id": "1", "name": "N", "aliases": "A, B", "image": "http://i/1.jpg", "extras": []}
    )
    assert p.aliases == ["A", "B"]
    assert [i.url for i in p.images] == ["http://i/1.jpg"]
