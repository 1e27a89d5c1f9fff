"""A bounded disk cache of performer pictures, keyed by the sha256 of their URL."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

CACHE_BYTES = 256 * 1024 * 1024


class PictureCache:
    """Pictures on disk by the sha256 of their URL; past `limit` bytes the oldest-used go first."""

    def __init__(self, folder: Path, limit: int = CACHE_BYTES) -> None:
        self.folder = folder
        self.limit = limit

    def _path(self, url: str) -> Path:
        return self.folder / (hashlib.sha256(url.encode()).hexdigest() + ".img")

    def get(self, url: str) -> bytes | None:
        path = self._path(url)
        try:
            data = path.read_bytes()
            os.utime(path)  # marks it recently used
        except OSError:
            return None
        return data

    def put(self, url: str, data: bytes) -> None:
        """Best effort: a full or read-only disk only means no caching."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            path = self._path(url)
            temp = path.with_suffix(f".{os.getpid()}.tmp")
            temp.write_bytes(data)
            os.replace(temp, path)
            self._prune()
        except OSError:
            return

    def _prune(self) -> None:
        files = sorted(self.folder.glob("*.img"), key=lambda p: p.stat().st_mtime, reverse=True)
        total = 0
        for path in files:
            total += path.stat().st_size
            if total > self.limit:
                path.unlink(missing_ok=True)
