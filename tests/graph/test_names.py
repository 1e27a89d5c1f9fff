"""Name keys: Unicode folding, Japanese names in kanji, kana and romaji, both name orders."""

from __future__ import annotations

from stash_sense.graph.names import fold, name_keys, romaji, usable_name


def same(a: str, b: str) -> bool:
    return bool(name_keys(a) & name_keys(b))


def test_case_accents_and_compatibility_forms_fold_together() -> None:
    assert fold("  Zoë  ÅSTRÖM ") == "zoe astrom"
    assert same("Zoë Åström", "zoe astrom")
    assert same("Ｊａｎｅ Ｄｏｅ", "Jane Doe")  # full-width forms (NFKC)
    assert same("Anne-Marie", "Anne Marie")
    assert not same("Jane Doe", "Jane Dole")


def test_japanese_kanji_kana_and_romaji_are_one_name() -> None:
    assert romaji("波多野結衣") == "hatano yui"
    assert same("波多野結衣", "Hatano Yui")
    assert same("はたの ゆい", "Yui Hatano")  # hiragana, given name first in romaji
    assert same("ハタノユイ", "Hatano Yui")  # katakana without a space
    assert same("三上悠亜", "Yua Mikami")  # yuu (pykakasi) and yu (common spelling)


def test_family_and_given_order_both_ways() -> None:
    assert same("Mikami Yua", "Yua Mikami")
    assert same("Doe Jane", "Jane Doe")


def test_unusable_names_are_refused_with_a_reason() -> None:
    assert same("Jane\x00 \x1bDoe\u200b", "Jane Doe")  # control and format characters dropped
    assert usable_name("\x00\x01\x07\u200b") == "name of control characters or separators only"
    assert usable_name("x" * 10_000) is not None
    assert name_keys("x" * 10_000) == set()
    assert usable_name("Jane Doe") is None
