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
    first = performers[-1]  # order_by=created: newest first
    assert first.name == "Adam Sandler"
    assert first.images[0].url.startswith(tpdb.base + "/images/")
    assert len(first.images) == 2
    (endpoint, stash_id), *_ = first.other_stash_ids
    assert endpoint == "https://stashdb.org/graphql" and len(stash_id) == 36


def test_published_fields_and_parameters(tpdb: StandIn) -> None:
    """`order_by` takes created/updated/name (not created_at), links sit under `extras.links`."""
    client = client_for(tpdb)
    for sort in ("CREATED_AT", "UPDATED_AT", "NAME"):
        assert len(client.performer_page(1, sort=sort).performers) == 5
    someone = client.performer_page(1).performers[0]
    found = client.find_performer(someone.id)
    assert client.find_performer("00000000-0000-4000-8000-000000000000") is None
    live = client.live_ids()
    client.close()
    assert found is not None and found.other_stash_ids == someone.other_stash_ids
    assert someone.other_stash_ids[0][0] == "https://stashdb.org/graphql"
    assert live.consistent and len(live.ids) == 12
    raw = {
        "id": "u",
        "name": "N",
        "extras": {
            "links": [
                {
                    "url": "https://stashdb.org/performers/"
                    + "0" * 8
                    + "-0000-4000-8000-"
                    + "0" * 12,
                    "platform": "stashdb",
                }
            ]
        },
        "links": {
            "StashDB": "https://fansdb.cc/performers/" + "1" * 8 + "-0000-4000-8000-" + "1" * 12
        },
    }
    parsed = parse_tpdb_performer(raw)
    assert [e for e, _ in parsed.other_stash_ids] == ["https://stashdb.org/graphql"]


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
