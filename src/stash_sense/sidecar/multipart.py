"""A multipart/form-data body parsed as it streams in, every part kept in memory (never on disk).

Starlette's form parser spools file parts over 1 MB to a temporary file; an upload here is at most
the body limit (which the Limits middleware enforces before this reads a byte) and must never
touch the disk, so the parts go to memory, with bounds on their number and on text fields.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from python_multipart.multipart import MultipartParser, parse_options_header

from stash_sense.sidecar.errors import ApiError

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

MAX_PARTS = 16
MAX_FIELD_BYTES = 1024


@dataclass
class Part:
    """One part: its field name, its file name (None for a text field) and its bytes."""

    name: str
    filename: str | None
    chunks: list[bytes] = field(default_factory=list)
    size: int = 0

    def take(self) -> bytes:
        """The part's bytes, once: the chunks are dropped so the upload is held only once."""
        data = b"".join(self.chunks)
        self.chunks = []
        return data


class _Collector:
    def __init__(self) -> None:
        self.parts: list[Part] = []
        self._field = b""
        self._value = b""
        self._headers: dict[bytes, bytes] = {}

    def begin(self) -> None:
        if len(self.parts) >= MAX_PARTS:
            raise ApiError(400, f"the multipart body has more than {MAX_PARTS} parts")
        self._headers = {}

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def header_end(self) -> None:
        self._headers[self._field.lower()] = self._value
        self._field = self._value = b""

    def headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        raw_file = options.get(b"filename")
        filename = None if raw_file is None else raw_file.decode("utf-8", "replace")
        self.parts.append(Part(name, filename))

    def data(self, data: bytes, start: int, end: int) -> None:
        part = self.parts[-1]
        part.size += end - start
        if part.filename is None and part.size > MAX_FIELD_BYTES:
            raise ApiError(400, f"multipart field {part.name!r} is longer than {MAX_FIELD_BYTES}")
        part.chunks.append(data[start:end])


async def read_multipart(content_type: str, stream: AsyncIterator[bytes]) -> list[Part]:
    """The parts of a multipart body read from `stream`; ApiError 400 if it is malformed."""
    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        raise ApiError(400, "multipart body without a boundary")
    got = _Collector()
    callbacks: MultipartCallbacks = {
        "on_part_begin": got.begin,
        "on_part_data": got.data,
        "on_header_field": got.header_field,
        "on_header_value": got.header_value,
        "on_header_end": got.header_end,
        "on_headers_finished": got.headers_finished,
    }
    parser = MultipartParser(boundary, callbacks)
    try:
        async for chunk in stream:
            parser.write(chunk)
        parser.finalize()
    except ApiError:
        raise
    except Exception as exc:  # python-multipart raises its own errors for malformed bodies
        raise ApiError(400, f"malformed multipart body: {type(exc).__name__}") from None
    return got.parts
