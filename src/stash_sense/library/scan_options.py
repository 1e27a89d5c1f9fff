"""What a library scan covers and how: its scope, its options, and the Stash scene filter that
lists the scenes in scope from a watermark on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

#: Waits before asking Stash for a page again when it fails (then the scan stops, resumable).
PAGE_RETRIES_S = (1.0, 4.0, 15.0)


class ScanScope(StrEnum):
    UNTAGGED = "untagged"  # scenes without performers (the default)
    ALL = "all"
    SINCE = "since"  # scenes edited since a date


@dataclass
class ScanOptions:
    scope: ScanScope = ScanScope.UNTAGGED
    since: str | None = None  # RFC 3339 or YYYY-MM-DD, with scope SINCE
    frames: int = 40
    source: str = "auto"
    per_page: int = 100
    #: requests a second toward Stash (GraphQL and files), at most `burst` at once
    requests_per_s: float = 4.0
    burst: int = 4
    #: resident MiB above which the scan pauses after a scene; None: pace.default_ceiling of
    #: its RSS after this run's first scenes (models and database included in those figures)
    memory_ceiling_mb: float | None = None
    niceness: int = 10
    page_retries_s: tuple[float, ...] = PAGE_RETRIES_S
    #: a new scan (after a finished one of the same scope) starts at that one's watermark:
    #: only the scenes Stash added or edited since are listed
    new_only: bool = False


def scene_filter(options: ScanOptions, watermark: str | None) -> dict[str, Any]:
    """Stash's SceneFilterType for the scope, from the watermark on (a second before it:
    Stash keeps whole seconds, and scenes edited in that second are skipped when done)."""
    out: dict[str, Any] = {}
    if options.scope is ScanScope.UNTAGGED:
        out["performer_count"] = {"value": 0, "modifier": "EQUALS"}
    start = watermark or (options.since if options.scope is ScanScope.SINCE else None)
    if start:
        out["updated_at"] = {"value": _second_before(start), "modifier": "GREATER_THAN"}
    return out


def _second_before(stamp: str) -> str:
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return stamp  # Stash reports the value it cannot parse
    return (moment - timedelta(seconds=1)).isoformat()
