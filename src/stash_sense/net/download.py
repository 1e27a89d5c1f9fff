"""The one resumable, verified download: a file continued where it stopped (HTTP Range), retried
on network failures, checked against its size and SHA-256 and deleted when it does not match.

The file being written is read back unbuffered, so what reached the disk is exactly what a resumed
download skips. A disk that is full (or any write failure) ends as one NetError line, `disk`.
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from stash_sense.net.client import HttpClient
from stash_sense.net.digest import sha256_file
from stash_sense.net.errors import NetError
from stash_sense.net.policy import Policy
from stash_sense.net.redact import redact_url

#: progress(bytes_done, bytes_total or None), called as the download advances
Progress = Callable[[int, int | None], None]

ATTEMPTS = 4
#: failures worth another attempt: the network, a busy server, a connection cut short
RETRIED = frozenset({"timeout", "connection", "busy", "short"})
_BUSY = (429, 500, 502, 503, 504)


def _range_start(content_range: str) -> int:
    """The first byte of "bytes 100-199/200", or -1."""
    try:
        return int(content_range.split()[1].split("-")[0])
    except (IndexError, ValueError):
        return -1


def _write_all(out: IO[bytes], chunk: bytes) -> None:
    """Write all of `chunk` to an unbuffered file (which may take only part of it per call)."""
    view = memoryview(chunk)
    while view:
        written = out.write(view)
        if not written:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        view = view[written:]


def _noop(done: int, total: int | None) -> None:
    return


def resume(
    client: HttpClient,
    url: str,
    part: Path,
    policy: Policy,
    *,
    size: int | None = None,
    progress: Progress | None = None,
) -> None:
    """Continue `part` from its current size (or start over when the server cannot resume)."""
    progress = progress or _noop
    shown = redact_url(url)
    have = part.stat().st_size if part.exists() else 0
    if size is not None and have > size:
        part.unlink()
        have = 0
    if size is not None and have == size:
        progress(have, size)
        return
    headers = {"Range": f"bytes={have}-"} if have else {}
    with client.stream("GET", url, policy, headers=headers) as opened:
        if opened.status == 416 and have:
            if size is None:
                return  # the part already holds everything the server has; the checksum tells
            part.unlink(missing_ok=True)
            raise NetError("size", f"{shown} is shorter than expected ({size} bytes)")
        if opened.status == 206 and have:
            start = _range_start(opened.headers.get("content-range", ""))
            if start != have:
                raise NetError("size", f"{shown} resumed at byte {start}, not {have}")
            mode = "ab"
        elif opened.status == 200:
            have, mode = 0, "wb"
        elif opened.status in _BUSY:
            raise NetError("busy", f"{shown} answered HTTP {opened.status}")
        else:
            raise NetError(f"http_{opened.status}", f"{shown} answered HTTP {opened.status}")
        length = opened.headers.get("content-length", "")
        total = have + int(length) if length.isdigit() else size
        if size is not None and total != size:
            part.unlink(missing_ok=True)
            raise NetError("size", f"{shown} is {total} bytes, expected {size}")
        progress(have, total)
        cap = policy.max_bytes if size is None else size - have
        try:
            with part.open(mode, buffering=0) as out:
                for chunk in opened.chunks(cap):
                    _write_all(out, chunk)
                    have += len(chunk)
                    progress(have, total)
        except OSError as err:
            raise NetError("disk", f"cannot write {part}: {err.strerror or err}") from None
    if size is not None and have != size:
        raise NetError("short", f"the connection closed after {have} of {size} bytes")


def download_verified(
    client: HttpClient,
    url: str,
    dest: Path,
    policy: Policy,
    *,
    sha256: str,
    size: int | None = None,
    progress: Progress = _noop,
    attempts: int = ATTEMPTS,
) -> None:
    """`url` into `dest` (continuing a partial `dest`), retried, then checked against `sha256`.

    A file that does not match is deleted (so the next attempt starts clean): NetError `checksum`.
    """
    if dest.is_file() and (size is None or dest.stat().st_size == size):
        if sha256_file(dest) == sha256:
            progress(dest.stat().st_size, size)
            return
        if size is not None:
            dest.unlink()
    for attempt in range(attempts):
        try:
            resume(client, url, dest, policy, size=size, progress=progress)
            break
        except NetError as err:
            if err.reason not in RETRIED or attempt == attempts - 1:
                raise
            time.sleep(min(8.0, 0.5 * 2**attempt))
    if sha256_file(dest) != sha256:
        dest.unlink(missing_ok=True)
        raise NetError("checksum", f"{dest.name} does not match its sha256 (deleted)")
