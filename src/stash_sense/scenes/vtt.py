"""Parse a Stash sprite WebVTT file: each cue maps a time range to an `#xywh=` sprite region."""

from __future__ import annotations

import re
from dataclasses import dataclass

_TIME = r"(?:(\d+):)?(\d{1,2}):(\d{2})(?:[.,](\d{1,3}))?"
_CUE_RE = re.compile(rf"^\s*{_TIME}\s*-->\s*{_TIME}")
#: Stash's sprite VTT has 81 cues (a 9 x 9 sheet); far more is not a sprite VTT but a CPU sink.
MAX_CUES = 1000
_XYWH_RE = re.compile(r"#xywh=(\d+),(\d+),(\d+),(\d+)\s*$")


class VttError(ValueError):
    """The sprite VTT cannot be used: malformed, or no cue with an `#xywh=` region."""


@dataclass(frozen=True)
class SpriteCue:
    """One thumbnail: its time range in the scene (seconds) and its region of the sprite sheet."""

    start: float
    end: float
    x: int
    y: int
    w: int
    h: int

    @property
    def middle(self) -> float:
        return (self.start + self.end) / 2


def _seconds(h: str | None, m: str, s: str, frac: str | None) -> float:
    millis = int((frac or "0").ljust(3, "0"))
    return int(h or 0) * 3600 + int(m) * 60 + int(s) + millis / 1000


def parse_sprite_vtt(text: str) -> list[SpriteCue]:
    """Return the cues of a sprite VTT in file order; raise VttError if there is none usable."""
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or not lines[0].strip().startswith("WEBVTT"):
        raise VttError("sprite VTT does not start with WEBVTT")
    cues: list[SpriteCue] = []
    i = 0
    while i < len(lines):
        m = _CUE_RE.match(lines[i])
        if not m:
            i += 1
            continue
        g = m.groups()
        start, end = _seconds(*g[0:4]), _seconds(*g[4:8])
        payload = lines[i + 1].strip() if i + 1 < len(lines) else ""
        region = _XYWH_RE.search(payload)
        if region is None:
            raise VttError(f"cue at line {i + 1} has no #xywh= region: {payload[:80]!r}")
        x, y, w, h = (int(v) for v in region.groups())
        if w <= 0 or h <= 0 or end < start:
            raise VttError(f"cue at line {i + 1} is empty or runs backwards")
        if len(cues) >= MAX_CUES:
            raise VttError(f"sprite VTT has more than {MAX_CUES} cues")
        cues.append(SpriteCue(start, end, x, y, w, h))
        i += 2
    if not cues:
        raise VttError("sprite VTT has no cues")
    return cues
