"""Turning URLs and messages into text without their secrets (API keys in queries, passwords).

Every URL shown anywhere (an answer, a log line, `/status`) goes through `redact_url`: it drops the
userinfo (`user:pass@`) and masks secret query values.

Real Stash puts its API key in the URLs it hands out: `paths.stream` is built as
`<base>/scene/<id>/stream?apikey=<key>` whenever a key is set (stashapp/stash,
internal/api/urlbuilders/scene.go, `GetStreamURL`), and its HLS/DASH manifests repeat `apikey=` on
every segment (pkg/ffmpeg/stream_segmented.go). Any URL that becomes text (an error, a log line, a
note) goes through `redact_url` first; `Redactor` also scrubs known secret values from any text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

#: Query parameters whose values are secrets (compared case-insensitively).
SECRET_PARAMS = frozenset({"apikey", "api_key", "key", "token", "access_token", "sig", "signature"})
HIDDEN = "***"
_USERINFO_RE = re.compile(r"(//)[^/@\s]*@")
_SECRET_QUERY_RE = re.compile(r"(?i)([?&](?:" + "|".join(sorted(SECRET_PARAMS)) + r")=)[^&#\s\"']*")


def redact_url(url: str) -> str:
    """`url` without its userinfo and with secret query values replaced by ***; never raises."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc.rpartition("@")[2]
        query = urlencode(
            [
                (k, HIDDEN if k.lower() in SECRET_PARAMS else _nested(v))
                for k, v in parse_qsl(parts.query, keep_blank_values=True)
            ],
            safe="*",
        )
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:
        return _USERINFO_RE.sub(r"\1", redact_text(url))


def _nested(value: str) -> str:
    """A query value that is itself a URL or query (a login page's returnURL) is redacted too."""
    return redact_url(value) if "=" in value else value


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with `?apikey=...`-style values and every given secret replaced by ***."""
    out = _SECRET_QUERY_RE.sub(lambda m: m.group(1) + HIDDEN, text)
    for secret in secrets:
        if secret and len(secret) >= 4:
            out = out.replace(secret, HIDDEN)
    return out


class Redactor:
    """Scrubs a fixed set of secret values (and secret query parameters) from text."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        return redact_text(text, self.secrets)
