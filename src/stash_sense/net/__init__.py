"""The one way out to the network: outbound HTTP under a security policy given as data, one
resumable verified download, one file hashing helper, and URLs shown without their secrets.

Every caller (the sources, Stash, the models, the releases, the sidecar's pictures) goes through
`HttpClient` with a `Policy`; the rules live in one place (see docs/architecture.md).
"""

from stash_sense.net.client import Answer, Closing, HttpClient, Opened
from stash_sense.net.digest import sha256_file
from stash_sense.net.download import Progress, download_verified, resume
from stash_sense.net.errors import NetError
from stash_sense.net.policy import Policy, Scope, origin_of
from stash_sense.net.redact import Redactor, redact_text, redact_url

__all__ = [
    "Answer",
    "Closing",
    "HttpClient",
    "NetError",
    "Opened",
    "Policy",
    "Progress",
    "Redactor",
    "Scope",
    "download_verified",
    "origin_of",
    "redact_text",
    "redact_url",
    "resume",
    "sha256_file",
]
