"""Profile URLs in one canonical form per site; non-web schemes refused."""

from __future__ import annotations

import pytest

from stash_sense.graph.urls import canonical_url, is_profile


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("https://twitter.com/Jane_Doe", "twitter.com/jane_doe"),
        ("http://www.twitter.com/jane_doe/", "twitter.com/jane_doe"),
        ("https://mobile.x.com/Jane_Doe/media?s=20", "twitter.com/jane_doe"),
        ("https://x.com/@jane_doe", "twitter.com/jane_doe"),
        ("instagram.com/JaneDoe/?hl=en", "instagram.com/janedoe"),
        ("https://www.instagram.com/janedoe/reels/", "instagram.com/janedoe"),
        ("https://onlyfans.com/janedoe?ref=abc#top", "onlyfans.com/janedoe"),
        (
            "https://www.iafd.com/person.rme/perfid=janedoe/gender=f/jane-doe.htm",
            "iafd.com/person.rme/perfid=janedoe/gender=f/jane-doe",
        ),
        ("https://www.babepedia.com/babe/Jane_Doe", "babepedia.com/babe/jane_doe"),
        ("https://www.freeones.com/jane-doe/bio", "freeones.com/jane-doe"),
        ("https://www.data18.com/name/jane-doe/scenes", "data18.com/name/jane-doe"),
        ("https://www.indexxx.com/m/jane-doe", "indexxx.com/m/jane-doe"),
        ("HTTPS://EXAMPLE.ORG/Some/Page/", "example.org/Some/Page"),
    ],
)
def test_one_canonical_form_per_site(url: str, key: str) -> None:
    assert canonical_url(url).key == key


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript:alert(document.cookie)",
        "data:text/html,<b>x</b>",
        "file:///etc/passwd",
        "ftp://example.org/x",
        "https://",
        "https://exa mple.org/x",
        "https://" + "a" * 3000 + ".com/",
    ],
)
def test_non_web_addresses_are_refused_with_a_reason(url: str) -> None:
    canon = canonical_url(url)
    assert canon.key is None
    assert canon.reason


def test_a_site_home_page_is_no_profile() -> None:
    assert not is_profile(canonical_url("https://twitter.com/"))
    assert not is_profile(canonical_url("https://twitter.com/search?q=jane"))
    assert is_profile(canonical_url("https://twitter.com/jane"))
