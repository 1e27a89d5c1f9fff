"""External URLs in one canonical form per site, so two sources' links to one profile compare
equal: case, www and mobile hosts, http/https, trailing slashes, query strings and fragments,
twitter.com and x.com; anything but http(s) (javascript:, data:, file:) is refused."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

MAX_URL_CHARS = 2048
#: host prefixes that only choose a page layout (mobile, locale) and name the same page
_HOST_PREFIXES = ("www.", "m.", "mobile.", "en.", "de.", "fr.", "es.")
#: hosts that are the same site under another name
_SAME_SITE = {"x.com": "twitter.com", "fxtwitter.com": "twitter.com", "instagr.am": "instagram.com"}
#: sites whose path is case-insensitive (user handles); the rest keep their path's case
_CASELESS_PATH = {
    "twitter.com",
    "instagram.com",
    "onlyfans.com",
    "fansly.com",
    "tiktok.com",
    "reddit.com",
    "iafd.com",
    "babepedia.com",
    "freeones.com",
    "data18.com",
    "indexxx.com",
    "pornhub.com",
    "manyvids.com",
    "chaturbate.com",
    "linktr.ee",
    "stashdb.org",
    "fansdb.cc",
    "pmvstash.org",
    "javstash.org",
    "theporndb.net",
}
#: the part of a path that names the profile on sites that add sub-pages (/media, /likes, /bio)
_PROFILE_DEPTH = {
    "twitter.com": 1,
    "instagram.com": 1,
    "onlyfans.com": 1,
    "fansly.com": 1,
    "tiktok.com": 1,
    "linktr.ee": 1,
    "babepedia.com": 2,
    "freeones.com": 1,
    "indexxx.com": 2,
    "data18.com": 2,
}
#: query parameters that identify the page (old profile URLs carry the id there)
_KEEP_QUERY = {"iafd.com": ("id", "perfid"), "data18.com": ("id",)}
#: paths that are a site's own pages, not a person's
_NOT_PROFILES = {"", "home", "explore", "search", "login", "signup", "intent", "share", "hashtag"}
_HOST_RE = re.compile(r"^[a-z0-9.-]+$")


@dataclass(frozen=True)
class Canonical:
    """A URL's canonical form (`key`, None when refused), its site, and why it was refused."""

    key: str | None
    site: str | None
    reason: str | None = None


def _site(host: str) -> str:
    host = host.rstrip(".")
    changed = True
    while changed:
        changed = False
        for prefix in _HOST_PREFIXES:
            if host.startswith(prefix) and host.count(".") >= 2:
                host, changed = host[len(prefix) :], True
    return _SAME_SITE.get(host, host)


def canonical_url(url: str) -> Canonical:
    """The canonical form of a profile URL, e.g. `https://mobile.x.com/Jane_Doe/media?s=20` ->
    `twitter.com/jane_doe`; refused (key None, with a reason) when it is not a web address."""
    if len(url) > MAX_URL_CHARS:
        return Canonical(None, None, f"URL longer than {MAX_URL_CHARS} characters")
    text = url.strip()
    if not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", text):
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", text) and not re.match(
            r"^[^:/]+\.[a-z]+[:/]", text
        ):
            scheme = text.split(":", 1)[0].lower()
            return Canonical(None, None, f"not a web address (scheme {scheme}:)")
        text = "https://" + text.lstrip("/")
    try:
        parts = urlsplit(text)
        host = (parts.hostname or "").lower()
    except ValueError as err:
        return Canonical(None, None, f"unreadable URL: {err}")
    if parts.scheme.lower() not in ("http", "https"):
        return Canonical(None, None, f"not a web address (scheme {parts.scheme.lower()}:)")
    if not host or not _HOST_RE.match(host) or "." not in host:
        return Canonical(None, None, "URL without a host name")
    site = _site(host)
    segments = [s for s in unquote(parts.path).split("/") if s]
    if site in _CASELESS_PATH:
        segments = [s.casefold() for s in segments]
    if site in ("twitter.com", "instagram.com", "tiktok.com"):
        segments = [s.lstrip("@") if i == 0 else s for i, s in enumerate(segments)]
    depth = _PROFILE_DEPTH.get(site)
    if depth is not None:
        segments = segments[:depth]
    query = ""
    keep = _KEEP_QUERY.get(site, ())
    if keep and parts.query:
        pairs = sorted(p for p in parts.query.split("&") if p.split("=", 1)[0].lower() in keep)
        query = ("?" + "&".join(p.lower() for p in pairs)) if pairs else ""
    path = "/".join(segments)
    if segments and segments[-1].endswith((".htm", ".html", ".php")) and site in _CASELESS_PATH:
        path = path.rsplit(".", 1)[0]
    return Canonical(f"{site}/{path}{query}".rstrip("/"), site)


def is_profile(canon: Canonical) -> bool:
    """Whether a canonical URL names one person's page (not a site's home or search page)."""
    if canon.key is None or canon.site is None:
        return False
    rest = canon.key[len(canon.site) :].strip("/")
    return rest.split("/", 1)[0].casefold() not in _NOT_PROFILES
