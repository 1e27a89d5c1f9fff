"""Name keys for linking: Unicode folding (NFKC, casefold, accents) and Japanese names in kanji,
kana or romaji read as Hepburn romaji (pykakasi), each name in family/given order both ways."""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache

#: a name longer than this is not a name (a hostile record); it is skipped with a reason
MAX_NAME_CHARS = 200
_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff66-\uff9f]")
_SEPARATORS = re.compile(r"[\s\-_.,'\u00b7\u30fb\u3000/]+")
#: Hepburn long vowels are written several ways (Yūko, Yuuko, Yuko; Ōta, Oota, Ota); shortened in
#: every name, on both sides of a comparison alike
_LONG_VOWELS = (("ou", "o"), ("oo", "o"), ("uu", "u"))


def clean(text: str) -> str:
    """NFKC with control and format characters removed and whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(" " if ch.isspace() else ch for ch in text if unicodedata.category(ch)[0] != "C")
    return " ".join(text.split())


def fold(text: str) -> str:
    """Casefolded, accents removed (NFKD without combining marks), separators as one space."""
    text = unicodedata.normalize("NFKD", clean(text).casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(_SEPARATORS.split(unicodedata.normalize("NFKC", text))).strip()


@cache
def _kakasi() -> object:
    import pykakasi

    return pykakasi.kakasi()


@lru_cache(maxsize=65536)
def romaji(text: str) -> str:
    """A Japanese name in Hepburn romaji (pykakasi), its parts separated by spaces; other text
    as it is."""
    if not _JAPANESE.search(text):
        return text
    parts = _kakasi().convert(text)  # type: ignore[attr-defined]
    return " ".join(p["hepburn"] for p in parts if p["hepburn"].strip())


def _unlong(word: str) -> str:
    for long, short in _LONG_VOWELS:
        word = word.replace(long, short)
    return word


def name_keys(name: str) -> set[str]:
    """Keys two spellings of one name share: folded, Japanese read as romaji with long vowels
    shortened, the words joined without spaces in both orders (family/given either way)."""
    if len(name) > MAX_NAME_CHARS:
        return set()
    folded = fold(romaji(clean(name)))
    words = [w for w in folded.split(" ") if w]
    if not words:
        return set()
    words = [_unlong(w) for w in words]
    keys = {"".join(words), "".join(reversed(words))}
    return {k for k in keys if k}


def usable_name(name: str) -> str | None:
    """Why a name is unusable (None when it is fine): too long, or nothing left after cleaning."""
    if len(name) > MAX_NAME_CHARS:
        return f"name longer than {MAX_NAME_CHARS} characters"
    if not fold(name):
        return "name of control characters or separators only"
    return None
