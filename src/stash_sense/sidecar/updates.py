"""Database releases in the sidecar: install the newest in the background, swap it in without
dropping a request, and say (at most daily) whether a newer one exists.

The work is stash_sense.app.updates'; this module runs it in threads, one update at a time, and
keeps the state `GET /database/update` shows.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from stash_sense.app.errors import InvalidInput
from stash_sense.app.failures import DatabaseError, ReleaseError
from stash_sense.app.recognizer import RecognizerHolder
from stash_sense.app.results import UpdateStatus
from stash_sense.app.updates import ReleaseCheck, install_update
from stash_sense.sidecar.config import SidecarConfig

CHECK_EVERY_S = 24 * 3600
log = logging.getLogger("stash_sense.sidecar")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class DatabaseUpdates:
    """One update at a time, in a thread; the loaded database serves requests until the swap."""

    def __init__(self, config: SidecarConfig, holder: RecognizerHolder) -> None:
        self.config = config
        self.holder = holder
        self.checks = ReleaseCheck(config.data_dir, Path(config.db))
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._checking = False
        self.state: dict[str, Any] = {"state": "idle"}

    @property
    def configured(self) -> bool:
        return bool(self.config.release_index)

    def start(self) -> bool:
        """Begin an update; False when one is already running."""
        with self._lock:
            if self.state["state"] == "running":
                return False
            self.state = {"state": "running", "started_at": _now(), "progress": {}}
            self._thread = threading.Thread(target=self._run, name="db-update", daemon=True)
            self._thread.start()
            return True

    def _report(self, what: str, done: int, total: int) -> None:
        self.state["progress"] = {"step": what, "done": done, "total": total}

    def _run(self) -> None:
        assert self.config.release_index
        root = Path(self.config.db)
        try:
            result = install_update(
                self.config.release_index, root, self.config.release_keys, self._report
            )
            if result["updated"]:
                self.holder.reload(root)
            self.checks.save(result)
            final: dict[str, Any] = {"state": "done", "result": result}
        except (ReleaseError, DatabaseError, InvalidInput, OSError) as err:
            log.warning("database update failed: %s", err)
            final = {"state": "failed", "error": str(err)}
        except Exception as err:  # never leave the state "running" behind
            log.exception("database update failed")
            final = {"state": "failed", "error": f"unexpected error: {type(err).__name__}"}
        self.state = {**final, "started_at": self.state.get("started_at"), "finished_at": _now()}

    def wait(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _check(self) -> None:
        try:
            assert self.config.release_index
            self.checks.run(self.config.release_index)
        finally:
            self._checking = False

    def status(self) -> UpdateStatus | None:
        """What /health and /status report (None: no release index configured); starts a
        background check when the last one is a day old."""
        if not self.configured:
            return None
        with self._lock:
            due = time.time() - self.checks.checked_at() >= CHECK_EVERY_S and not self._checking
            self._checking = self._checking or due
        if due:
            threading.Thread(target=self._check, name="db-update-check", daemon=True).start()
        return self.checks.status(self.state["state"])
