"""A release's payload as one tar.gz stream cut into parts below a size limit; safe unpacking.

Release hosts cap a file's size (GitHub: 2 GiB), so the stream is written straight into numbered
parts; nothing the size of the whole archive is ever held in memory or written twice.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from stash_sense.release.errors import ReleaseError

DEFAULT_PART_SIZE = 1900 * 1024 * 1024  # below GitHub's 2 GiB per release file
_CHUNK = 1 << 20
_LEVEL = 1  # vectors and Voyager graphs hardly compress; SQLite's text does, quickly


def part_name(stem: str, number: int) -> str:
    return f"{stem}.tar.gz.{number:03d}"


class _SplitWriter(io.RawIOBase):
    """A write-only file that rolls over into `stem.tar.gz.000`, `.001`, ... at `part_size`."""

    def __init__(self, folder: Path, stem: str, part_size: int) -> None:
        if part_size < 1:
            raise ReleaseError("the part size must be at least one byte")
        self.folder, self.stem, self.part_size = folder, stem, part_size
        self.parts: list[dict[str, Any]] = []
        self._file: io.BufferedWriter | None = None
        self._digest = hashlib.sha256()
        self._written = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        done = 0
        while done < len(view):
            if self._file is None or self._written == self.part_size:
                self._roll()
            assert self._file is not None
            n = min(len(view) - done, self.part_size - self._written)
            chunk = view[done : done + n]
            self._file.write(chunk)
            self._digest.update(chunk)
            self._written += n
            done += n
        return done

    def _roll(self) -> None:
        self._finish_part()
        name = part_name(self.stem, len(self.parts))
        self._file = (self.folder / name).open("wb")
        self._digest = hashlib.sha256()
        self._written = 0
        self.parts.append({"name": name})

    def _finish_part(self) -> None:
        if self._file is None:
            return
        self._file.close()
        self.parts[-1].update(size=self._written, sha256=self._digest.hexdigest())
        self._file = None

    def close(self) -> None:
        if not self.closed:
            self._finish_part()
        super().close()


class _PartsReader(io.RawIOBase):
    """The parts read back as one stream, in order."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self._paths = list(paths)
        self._file: io.BufferedReader | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while True:
            if self._file is None:
                if not self._paths:
                    return 0
                self._file = self._paths.pop(0).open("rb")
            n = self._file.readinto(buffer)
            if n:
                return n
            self._file.close()
            self._file = None

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        super().close()


def pack(files: Sequence[Path], folder: Path, stem: str, part_size: int) -> list[dict[str, Any]]:
    """Write `files` (flat names) as a tar.gz cut into parts in `folder`; their name/size/sha256."""
    writer = _SplitWriter(folder, stem, part_size)
    try:
        with (
            gzip.GzipFile(fileobj=writer, mode="wb", compresslevel=_LEVEL, mtime=0) as gz,
            tarfile.open(fileobj=gz, mode="w|") as tar,
        ):
            for path in files:
                info = tarfile.TarInfo(path.name)
                info.size = path.stat().st_size
                info.mode = 0o644
                with path.open("rb") as f:
                    tar.addfile(info, f)
    finally:
        writer.close()
    return writer.parts


def unpack(parts: Sequence[Path], dest: Path, expected: Sequence[dict[str, Any]]) -> None:
    """Extract exactly the `expected` files (name, size, sha256) from the parts into `dest`.

    Anything else in the archive (another name, a link, a folder, a path) is refused, and every
    file is checked against its size and sha256 as it is written.
    """
    wanted = {str(e["name"]): e for e in expected}
    seen: set[str] = set()
    try:
        with (
            _PartsReader(parts) as raw,
            tarfile.open(fileobj=io.BufferedReader(raw, _CHUNK), mode="r|gz") as tar,
        ):
            for member in tar:
                entry = wanted.get(member.name)
                if entry is None or not member.isreg() or member.name in seen:
                    raise ReleaseError(f"the archive holds an unexpected entry {member.name!r}")
                if member.size != int(entry["size"]):
                    raise ReleaseError(
                        f"{member.name} is {member.size} bytes in the archive, "
                        f"the manifest says {entry['size']}"
                    )
                source = tar.extractfile(member)
                assert source is not None
                digest = hashlib.sha256()
                with (dest / member.name).open("wb") as out:
                    while chunk := source.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                if digest.hexdigest() != entry["sha256"]:
                    raise ReleaseError(f"{member.name} does not match its sha256 in the manifest")
                seen.add(member.name)
    except (tarfile.TarError, EOFError, zlib.error, ValueError) as err:
        raise ReleaseError(f"the release archive is damaged: {err}") from None
    except OSError as err:
        if err.errno is None:  # gzip's BadGzipFile and friends
            raise ReleaseError(f"the release archive is damaged: {err}") from None
        raise ReleaseError(f"cannot unpack into {dest}: {err.strerror or err}") from None
    missing = sorted(set(wanted) - seen)
    if missing:
        raise ReleaseError(f"the release archive lacks {', '.join(missing)}")
