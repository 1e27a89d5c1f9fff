"""Which video container a stream or file is, recognised positively by its first bytes, and
which content types are playlists, manifests or text (what no video file is). The relay passes
only what this recognises and tells the decoders the container found (`-f`)."""

from __future__ import annotations

from pathlib import Path

#: Content types of playlists and manifests (HLS, DASH, SDP) and of text, which no video is.
PLAYLIST_TYPES = ("mpegurl", "dash+xml", "xml", "sdp", "text/", "smil", "html")
SNIFF_BYTES = 4096

_TS = 188
_M2TS = 192


def container_of(head: bytes) -> str | None:
    """The ffmpeg demuxer for a file beginning with `head`, or None when it is no video container
    known here. Positive recognition only: playlists, manifests and text match nothing."""
    if len(head) >= 12 and head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide"):
        return "mov"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "matroska"
    if head.startswith(b"RIFF") and head[8:12] in (b"AVI ", b"AVIX"):
        return "avi"
    if head.startswith(b"FLV\x01"):
        return "flv"
    if head.startswith(b"\x00\x00\x01\xba"):
        return "mpeg"
    if head.startswith(b"OggS"):
        return "ogg"
    if head.startswith(b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"):
        return "asf"
    if head.startswith(b".RMF"):
        return "rm"
    if _sync_every(head, 0, _TS) or _sync_every(head, 4, _M2TS):
        return "mpegts"
    return None


def _sync_every(head: bytes, start: int, step: int) -> bool:
    """MPEG-TS: the sync byte 0x47 at the start of every packet seen (at least three)."""
    offsets = range(start, len(head), step)
    return len(offsets) >= 3 and all(head[i] == 0x47 for i in offsets)


def looks_like_playlist(content_type: str) -> bool:
    """True when a content type is a playlist/manifest or text, which no video file is."""
    kind = content_type.lower()
    return any(marker in kind for marker in PLAYLIST_TYPES)


def sniff_file(path: str) -> str | None:
    """The container of a local file (None: not recognised or unreadable)."""
    try:
        with Path(path).open("rb") as f:
            return container_of(f.read(SNIFF_BYTES))
    except OSError:
        return None
