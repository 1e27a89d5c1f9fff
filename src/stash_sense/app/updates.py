"""Update, check and roll back the face database from signed releases (docs/releases.md).

The CLI (`db update`, `db update --check`, `db rollback`) and the sidecar (`/database/update`,
the daily check behind `/health`) both call these. The sidecar remembers its last check in the
data folder (`ReleaseCheck`); what it reports compares that check's newest release with the
release installed *now*, so a rollback (or an update by the CLI) shows at once.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from stash_sense.app.errors import InvalidInput
from stash_sense.app.results import UpdateStatus
from stash_sense.release import (
    ReleaseError,
    ReleaseHost,
    installed_version,
    plan_update,
    rollback,
    trusted_keys,
    update,
)
from stash_sense.release.manifest import parse_version

__all__ = [
    "ReleaseCheck",
    "ReleaseError",
    "check_for_update",
    "install_update",
    "release_host",
    "rollback_database",
]

CHECK_FILE = "release-check.json"
#: report(step, done, total): "download" in bytes, then the verify steps
Report = Callable[[str, int, int], None]
log = logging.getLogger("stash_sense.app")


def release_host(index: str) -> ReleaseHost:
    """The release host of an index URL; InvalidInput for a malformed one (e.g. port 99999)."""
    try:
        return ReleaseHost(index)
    except ReleaseError as err:
        raise InvalidInput(str(err)) from None
    except ValueError as err:  # urllib's own complaint about the URL
        raise InvalidInput(f"not a usable release index URL: {err}") from None


def check_for_update(index: str, root: Path) -> dict[str, Any]:
    """Whether the index offers a newer release than the one installed at `root`, and how it
    would come (full or deltas, bytes); ReleaseError when the index cannot be read."""
    with release_host(index) as host:
        return plan_update(host, root).as_dict()


def install_update(
    index: str,
    root: Path,
    keys: Path | None = None,
    report: Report | None = None,
    *,
    pause_before_swap: float = 0.0,
) -> dict[str, Any]:
    """Download, verify and install the newest readable release into `root` (trusting the
    shipped publisher keys and those of `keys`); what it did. ReleaseError when it cannot."""
    with release_host(index) as host:
        trusted = trusted_keys(keys)
        return update(host, root, trusted, report or _quiet, pause_before_swap=pause_before_swap)


def _quiet(_step: str, _done: int, _total: int) -> None:
    return None


def rollback_database(root: Path) -> tuple[str, str]:
    """Point `root/current` back at the previous generation: (from, to) folder names."""
    return rollback(root)


def newer(newest: str | None, current: str | None) -> bool:
    """Whether release `newest` is newer than `current` (None: nothing installed from one)."""
    if newest is None:
        return False
    if current is None:
        return True
    try:
        return parse_version(newest) > parse_version(current)
    except ReleaseError:
        return newest != current


def _stamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ReleaseCheck:
    """The last "is there a newer database?" answer, kept in `data_dir/release-check.json`."""

    def __init__(self, data_dir: Path, root: Path) -> None:
        self.path = data_dir / CHECK_FILE
        self.root = root

    def load(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self.path.read_text())
            return data
        except (OSError, ValueError):
            return {}

    def checked_at(self) -> float:
        """When the last check was made (seconds since the epoch; 0: never)."""
        try:
            return float(self.load().get("checked_at", 0))
        except (TypeError, ValueError):
            return 0.0

    def save(self, plan: dict[str, Any]) -> None:
        """Remember a check's (or an update's) answer; best effort."""
        record = {"checked_at": time.time(), "plan": plan}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(record))
            tmp.replace(self.path)
        except OSError as err:
            log.warning("cannot remember the release check in %s: %s", self.path, err)

    def run(self, index: str) -> None:
        """Ask the index now and remember the answer (or the error)."""
        try:
            self.save(check_for_update(index, self.root))
        except (ReleaseError, InvalidInput, OSError) as err:
            log.warning("release check failed: %s", err)
            self.save({"error": str(err)})
        except Exception as err:  # a background check must never die silently
            log.exception("release check failed")
            self.save({"error": f"unexpected error: {type(err).__name__}"})

    def status(self, update_state: str) -> UpdateStatus:
        """The last check against the release installed now (`available`: None until a check
        succeeded)."""
        record = self.load()
        plan = record.get("plan") or {}
        checked = record.get("checked_at")
        current = installed_version(self.root)
        newest = plan.get("newest")
        checked_ok = "newest" in plan and not plan.get("error")
        return UpdateStatus(
            configured=True,
            available=newer(newest, current) if checked_ok else None,
            current=current,
            newest=newest,
            checked_at=_stamp(float(checked)) if checked else None,
            error=plan.get("error"),
            update=update_state,
        )
