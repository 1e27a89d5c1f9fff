"""What an update would do: the newest release this program can read (by the index), and the
cheapest way there from the installed one (the full release, or a chain of deltas)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stash_sense.database.errors import DatabaseError
from stash_sense.database.layout import current_generation
from stash_sense.release.download import ReleaseHost
from stash_sense.release.manifest import check_index, parse_version, readable

#: the signed manifest an install keeps in its generation: which release it is
RELEASE_RECORD = "release.json"


@dataclass
class Plan:
    """What an update would do: from which version to which, by full release or deltas."""

    current: str | None
    target: str | None
    steps: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def download_size(self) -> int:
        return sum(int(entry[kind]["size"]) for kind, entry in self.steps)

    def as_dict(self) -> dict[str, Any]:
        return {
            "current": self.current,
            "newest": self.target,
            "available": bool(self.steps),
            "method": self.steps[0][0] if self.steps else None,
            "download_bytes": self.download_size,
            "skipped": self.skipped,
        }


def installed_version(root: Path) -> str | None:
    """The release version of the current generation (None: none, or not from a release)."""
    try:
        gen = current_generation(root)
    except DatabaseError:
        return None
    if gen is None:
        return None
    try:
        record = json.loads((gen / RELEASE_RECORD).read_text())
        return str(record["manifest"]["version"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def plan_update(host: ReleaseHost, root: Path) -> Plan:
    """The newest release this program can read, and the cheapest way to get there."""
    releases = check_index(host.get_json(host.index_url))
    current = installed_version(root)
    plan = Plan(current, None)
    usable: list[dict[str, Any]] = []
    for entry in releases:
        reason = readable(entry)
        if reason is None:
            usable.append(entry)
        elif not usable:
            plan.skipped.append(f"{entry['version']} needs {reason}")
    if not usable:
        return plan
    target = usable[0]
    plan.target = target["version"]
    if current is not None and parse_version(current) >= parse_version(target["version"]):
        return plan
    plan.steps = [("full", target)]
    if current is not None:
        chain = _delta_chain(usable, current)
        if chain and sum(e["delta"]["size"] for e in chain) < target["full"]["size"]:
            plan.steps = [("delta", e) for e in chain]
    return plan


def _delta_chain(usable: list[dict[str, Any]], current: str) -> list[dict[str, Any]]:
    """Readable releases newer than `current`, oldest first, if each is a delta of the previous."""
    newer = [e for e in usable if parse_version(e["version"]) > parse_version(current)]
    chain = list(reversed(newer))
    base = current
    for entry in chain:
        delta = entry.get("delta")
        if not isinstance(delta, dict) or delta.get("base") != base:
            return []
        base = entry["version"]
    return chain
