"""Database releases in the sidecar: install the newest in the background, swap it in without
dropping a request, and say (at most daily) whether a newer one exists."""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from stash_sense.database import DatabaseError
from stash_sense.release import ReleaseError, ReleaseHost, plan_update, trusted_keys, update
from stash_sense.sidecar.config import SidecarConfig
from stash_sense.sidecar.recognizer import RecognizerHolder

CHECK_EVERY_S = 24 * 3600
CHECK_FILE = "release-check.json"
log = logging.getLogger("stash_sense.sidecar")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class DatabaseUpdates:
    """One update at a time, in a thread; the loaded database serves requests until the swap."""

    def __init__(self, config: SidecarConfig, holder: RecognizerHolder) -> None:
        self.config = config
        self.holder = holder
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
            with ReleaseHost(self.config.release_index) as host:
                result = update(host, root, trusted_keys(self.config.release_keys), self._report)
            if result["updated"]:
                self.holder.reload(root)
            self._save_check(result)
            final: dict[str, Any] = {"state": "done", "result": result}
        except (ReleaseError, DatabaseError, OSError) as err:
            log.warning("database update failed: %s", err)
            final = {"state": "failed", "error": str(err)}
        except Exception as err:  # never leave the state "running" behind
            log.exception("database update failed")
            final = {"state": "failed", "error": f"unexpected error: {type(err).__name__}"}
        self.state = {**final, "started_at": self.state.get("started_at"), "finished_at": _now()}

    def wait(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    # --- "is there a newer database?" --------------------------------------------------------

    @property
    def _check_path(self) -> Path:
        return self.config.data_dir / CHECK_FILE

    def _load_check(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self._check_path.read_text())
            return data
        except (OSError, ValueError):
            return {}

    def _save_check(self, plan: dict[str, Any]) -> None:
        record = {"checked_at": time.time(), "plan": plan}
        try:
            self._check_path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self._check_path.with_suffix(".tmp")
            tmp.write_text(json.dumps(record))
            tmp.replace(self._check_path)
        except OSError as err:
            log.warning("cannot remember the release check in %s: %s", self._check_path, err)

    def _check(self) -> None:
        try:
            assert self.config.release_index
            with ReleaseHost(self.config.release_index) as host:
                self._save_check(plan_update(host, Path(self.config.db)).as_dict())
        except (ReleaseError, DatabaseError, OSError) as err:
            log.warning("release check failed: %s", err)
            self._save_check({"error": str(err)})
        except Exception as err:
            log.exception("release check failed")
            self._save_check({"error": f"unexpected error: {type(err).__name__}"})
        finally:
            self._checking = False

    def status(self) -> dict[str, Any]:
        """What /health reports; starts a background check when the last one is a day old."""
        if not self.configured:
            return {"configured": False}
        record = self._load_check()
        checked = float(record.get("checked_at", 0))
        with self._lock:
            due = time.time() - checked >= CHECK_EVERY_S and not self._checking
            self._checking = self._checking or due
        if due:
            threading.Thread(target=self._check, name="db-update-check", daemon=True).start()
        plan = record.get("plan") or {}
        return {
            "configured": True,
            "available": plan.get("available"),
            "current": plan.get("installed") or plan.get("current"),
            "newest": plan.get("newest"),
            "checked_at": (
                datetime.fromtimestamp(checked, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                if checked
                else None
            ),
            "error": plan.get("error"),
            "update": self.state["state"],
        }
