"""How every ffmpeg and ffprobe of the scene pipeline is started: the tool, its input options
(limits, protocols, forced container) and the run itself (bounded time, the relay's environment).

The limits are the same for every way frames are decoded (scenes/video.py, scenes/batch.py): at
most MAX_VIDEO_PIXELS a frame, no single buffer over MAX_ALLOC, DECODER_THREADS threads a decoder.
"""

from __future__ import annotations

import shutil
import subprocess

from stash_sense.scenes.frames import FrameError
from stash_sense.scenes.relay import DecoderInput

FFMPEG_TIMEOUT_S = 60.0
#: Largest frame decoded: DCI 8K (8192 x 4320, 35 MP); anything larger is refused unread.
MAX_VIDEO_PIXELS = 8192 * 4320
#: ffmpeg's largest single allocation: an RGBA frame of MAX_VIDEO_PIXELS, and some room.
MAX_ALLOC = MAX_VIDEO_PIXELS * 4 + 16 * 1024 * 1024
DECODER_THREADS = 2
#: frames are scaled down to this width: faces stay large enough, decoding stays fast
MAX_WIDTH = 1280


def tool(name: str) -> str:
    """The path of ffmpeg or ffprobe; FrameError when it is not installed."""
    path = shutil.which(name)
    if path is None:
        raise FrameError(f"{name} is not installed (Debian package ffmpeg; `make system-deps`)")
    return path


def input_args(source: DecoderInput) -> list[str]:
    """ffmpeg's input options: remote sources are the relay (plain http, through it as proxy);
    local ones are files, and neither may open anything else; the container is forced. Every
    option but -max_alloc is per input: a command with several inputs repeats them all."""
    args = ["-max_alloc", str(MAX_ALLOC), "-threads", str(DECODER_THREADS)]
    args += ["-protocol_whitelist", "file" if source.local else "http,tcp"]
    return args + (["-f", source.container] if source.container else [])


def run(
    cmd: list[str], source: DecoderInput, timeout: float = FFMPEG_TIMEOUT_S
) -> subprocess.CompletedProcess[bytes]:
    """Run a decoder with the source's environment (the relay as its proxy), output captured."""
    return subprocess.run(cmd, capture_output=True, timeout=timeout, check=False, env=source.env)


def scaled_size(width: int, height: int) -> tuple[int, int]:
    """The size frames are delivered at: at most MAX_WIDTH wide, aspect kept, even height."""
    if width <= MAX_WIDTH:
        return width, height
    return MAX_WIDTH, max(2, round(height * MAX_WIDTH / width / 2) * 2)
