"""The signed release manifest and the release index: their fields, checks and version order."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from stash_sense import __version__
from stash_sense.database.manifest import SCHEMA_VERSION
from stash_sense.database.publish import sha256_file
from stash_sense.release.errors import ReleaseError

RELEASE_FORMAT = "stash-sense-release"
INDEX_FORMAT = "stash-sense-release-index"
MANIFEST_SUFFIX = ".release.json"
#: the one file of a delta release's payload (database/diff.py writes and applies it)
DELTA_NAME = "delta.sqlite"
_VERSION_RE = re.compile(r"^\d+(\.\d+)*$")


def parse_version(text: str) -> tuple[int, ...]:
    """Dotted integers ("2026.11.30", "0.1.0") as a tuple that sorts in release order."""
    if not isinstance(text, str) or not _VERSION_RE.match(text):
        raise ReleaseError(f"not a version (dotted integers): {text!r}")
    return tuple(int(p) for p in text.split("."))


def _plain_name(name: object) -> bool:
    """A file name that stays inside its folder: no separator, not `.`, `..` or empty."""
    return (
        isinstance(name, str)
        and name not in ("", ".", "..")
        and not any(c in name for c in "/\\\0")
    )


def check_manifest(manifest: dict[str, Any], version: str, kind: str) -> dict[str, Any]:
    """The fields an installer relies on, checked: a malformed manifest is one clear error."""
    if manifest.get("format") != RELEASE_FORMAT:
        raise ReleaseError("not a stash-sense release manifest")
    if manifest.get("version") != version or manifest.get("kind") != kind:
        raise ReleaseError(
            f"the manifest is of {manifest.get('kind')} release {manifest.get('version')}, "
            f"the index promised {kind} release {version}"
        )
    try:
        for group in ("parts", "payload", "files"):
            for entry in manifest[group]:
                if not _plain_name(entry["name"]):
                    raise ReleaseError(f"bad file name in the manifest: {entry['name']!r}")
                if int(entry["size"]) < 0 or len(str(entry["sha256"])) != 64:
                    raise ReleaseError(f"bad size or sha256 of {entry['name']} in the manifest")
        if not isinstance(manifest["database"], dict):
            raise ReleaseError("the manifest lacks the database description")
    except (KeyError, TypeError, ValueError) as err:
        raise ReleaseError(f"the release manifest is malformed: missing or bad {err}") from None
    return manifest


def readable(entry: dict[str, Any]) -> str | None:
    """Why this program cannot use an index entry, or None when it can."""
    schema = entry.get("schema_version")
    if schema != SCHEMA_VERSION:
        return f"database schema {schema} (this program reads {SCHEMA_VERSION})"
    needs = str(entry.get("min_program_version", "0"))
    try:
        if parse_version(needs) > parse_version(__version__):
            return f"stash-sense {needs} or newer (this is {__version__})"
    except ReleaseError:
        return f"an unreadable program version {needs!r}"
    return None


def check_index(data: Any) -> list[dict[str, Any]]:
    """The releases of an index, newest first, each with a version and a full release."""
    if not isinstance(data, dict) or data.get("format") != INDEX_FORMAT:
        raise ReleaseError("the release index is not a stash-sense release index")
    releases = data.get("releases")
    if not isinstance(releases, list):
        raise ReleaseError("the release index lists no releases")
    out = []
    for entry in releases:
        if not isinstance(entry, dict) or not isinstance(entry.get("full"), dict):
            raise ReleaseError("the release index has a malformed entry")
        parse_version(entry.get("version"))  # type: ignore[arg-type]
        out.append(entry)
    out.sort(key=lambda e: parse_version(e["version"]), reverse=True)
    return out


def new_index() -> dict[str, Any]:
    return {"format": INDEX_FORMAT, "releases": []}


def file_entries(folder: Path, names: list[str]) -> list[dict[str, Any]]:
    """Name, size and sha256 of each named file in `folder`, as a manifest lists them."""
    out = []
    for name in names:
        path = folder / name
        if not path.is_file():
            raise ReleaseError(f"{folder} lacks {name}")
        out.append({"name": name, "size": path.stat().st_size, "sha256": sha256_file(path)})
    return out
