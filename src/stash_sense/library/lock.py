"""One scan at a time per state database, across processes: the scan holds an exclusive lock
on a file beside `library.sqlite` for as long as it runs (the sidecar's scheduled scan and a
`stash-sense scan` in a terminal never overlap). The kernel drops the lock when the process
ends, however it ends."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from stash_sense.library.database import StateError


class ScanLock:
    """The lock file `<state database>.scan-lock`."""

    def __init__(self, database: Path) -> None:
        self.path = Path(str(database) + ".scan-lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock; StateError when another scan (another process) holds it."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise StateError(
                f"a scan is already running on {self.path.parent} (in another process)"
            ) from None
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
