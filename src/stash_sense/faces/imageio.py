"""Decode an image file or bytes into a BGR uint8 array, safely.

Anything odd is converted (EXIF orientation, grayscale, palette, CMYK, alpha, 16-bit); anything
bad is refused with an ImageError whose message is one line (missing, empty, truncated, not an
image, too many pixels, too many bytes). Pixel counts are checked from the header, before any
pixel is decoded, against a budget that fits memory; so are the bytes the decoded mode holds
(MAX_DECODED_BYTES: a 32-bit TIFF or an RGBA image costs 4 bytes a pixel, and a WebP is decoded
by libwebp into a buffer of its own first, so it counts twice). A larger JPEG is decoded at 1/2,
1/4 or 1/8 scale (libjpeg's DCT scaling, `Image.draft`), which costs a fraction of the memory
and time. The conversions to BGR hold as few copies as they can (24 MP mode I TIFF and lossless
WebP decodes once added 670 and 790 MB; tests/faces/test_faces_imageio.py measures them). Only
the formats in ALLOWED_FORMATS are opened: Pillow would otherwise hand an EPS file to
Ghostscript, and each rarely used decoder is more attack surface for no gain.
"""

from __future__ import annotations

import contextlib
import io
import math
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from PIL import (  # the decoders of ALLOWED_FORMATS, registered without loading every plugin
    BmpImagePlugin,  # noqa: F401
    GifImagePlugin,  # noqa: F401
    Image,
    ImageOps,
    JpegImagePlugin,  # noqa: F401
    PngImagePlugin,  # noqa: F401
    TiffImagePlugin,  # noqa: F401
    UnidentifiedImageError,
    WebPImagePlugin,  # noqa: F401
)

from stash_sense.faces.types import ImageArray

#: Decoded images hold at most this many pixels (a 24 MP camera's; 72 MB as RGB, twice that while
#: converting; a 9999 x 9999 PNG of 292 KB once took 1.4 GB to decode): JPEGs above it are decoded
#: at a reduced scale, other formats refused. Faces need far fewer pixels than this.
MAX_PIXELS = 24_000_000
#: The bytes a decoded image may hold in its own mode (24 MP as RGB).
MAX_DECODED_BYTES = MAX_PIXELS * 3
#: Bytes a pixel takes in each decoded mode (others: 4).
_MODE_BYTES = {"1": 1, "L": 1, "P": 1, "LA": 2, "PA": 2, "La": 2, "RGB": 3, "YCbCr": 3}
#: Formats whose decoder holds a full copy of its own besides the decoded image.
_DOUBLE_DECODE = ("WEBP",)
#: Rows converted at a time (a block of a 6000-wide image is 6 MB as RGB).
ROWS_PER_BLOCK = 256
#: The formats decoded; anything else (EPS, PSD, PCX, ...) is "not an image we accept".
ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")  # JPEG includes MPO
#: JPEG scales libjpeg decodes at without decoding the full size first.
_JPEG_SCALES = (1, 2, 4, 8)
#: Files larger than this are refused before being read (callers pass their own as `max_bytes`).
MAX_BYTES = 64 * 1024 * 1024

# alpha is composited on mid grey: neither black nor white invents a face edge
_BACKGROUND = (128, 128, 128)


class ImageError(ValueError):
    """The input is not a usable image; the message says why in one line."""


def _read_source(src: Path | str | bytes | bytearray | memoryview, max_bytes: int) -> bytes:
    if isinstance(src, bytes | bytearray | memoryview):
        data = bytes(src)
        if len(data) > max_bytes:
            raise ImageError(f"image is too large: {len(data)} bytes (limit {max_bytes})")
        if not data:
            raise ImageError("image is empty (0 bytes)")
        return data
    path = Path(src)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ImageError(f"image not found: {path}") from None
    except OSError as exc:
        raise ImageError(f"cannot read image {path}: {exc.strerror}") from None
    if not path.is_file():
        raise ImageError(f"not a file: {path}")
    if size == 0:
        raise ImageError(f"image is empty (0 bytes): {path}")
    if size > max_bytes:
        raise ImageError(f"image is too large: {size} bytes (limit {max_bytes}): {path}")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ImageError(f"cannot read image {path}: {exc.strerror}") from None


def _mode_bytes(mode: str) -> int:
    if mode.startswith("I;16"):
        return 2
    return _MODE_BYTES.get(mode, 4)


def _blocks(im: Image.Image) -> Iterator[tuple[int, Image.Image]]:
    """The image as blocks of ROWS_PER_BLOCK rows (each a small copy), with their first row."""
    width, height = im.size
    for top in range(0, height, ROWS_PER_BLOCK):
        yield top, im.crop((0, top, width, min(height, top + ROWS_PER_BLOCK)))


def _gray_scale(im: Image.Image) -> Callable[[np.ndarray], np.ndarray]:
    """How to bring blocks of a single-channel integer or float image (I, F, I;16) to uint8,
    from the image's extremes (read without a copy of it)."""
    extrema = im.getextrema()  # (low, high) for a single band
    high = float(extrema[1]) if isinstance(extrema[1], int | float) else 0.0
    top = high if math.isfinite(high) else 0.0
    if im.mode == "F":
        factor = 255.0 if top <= 1.0 else (255.0 / top if top > 255.0 else 1.0)
    else:  # 16-bit data (PNG I;16 often arrives as mode "I"): keep the high byte
        factor = 1 / 257 if 255 < top <= 65535 else (255.0 / top if top > 65535 else 1.0)

    def scale(block: np.ndarray) -> np.ndarray:
        values = np.nan_to_num(block.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        values *= factor
        return np.clip(np.floor(values + 1e-4), 0, 255).astype(np.uint8)

    return scale


def _composite_on_grey(rgba: np.ndarray) -> np.ndarray:
    """RGBA pixels over mid grey, as BGR."""
    alpha = rgba[:, :, 3:4].astype(np.uint16)
    grey = np.array(_BACKGROUND, np.uint16)
    mixed = (rgba[:, :, :3] * alpha + grey * (255 - alpha) + 127) // 255
    return mixed[:, :, ::-1].astype(np.uint8)


def _to_bgr(im: Image.Image) -> np.ndarray:
    """BGR pixels, converted a block of rows at a time into one new array: the decoded image
    and that array are the only full-size copies held."""
    mode = im.mode
    width, height = im.size
    out = np.empty((height, width, 3), np.uint8)
    single = mode in ("I", "F") or mode.startswith("I;16")
    scale = _gray_scale(im) if single else None
    has_alpha = mode in ("RGBA", "LA", "PA", "La", "RGBa") or (
        mode == "P" and "transparency" in im.info
    )
    for top, block in _blocks(im):
        rows = out[top : top + block.size[1]]
        if scale is not None:
            rows[:] = scale(np.asarray(block))[:, :, None]
        elif has_alpha:
            rows[:] = _composite_on_grey(np.asarray(block.convert("RGBA")))
        else:  # RGB, L, 1, P, CMYK, YCbCr, LAB, HSV, ...: Pillow packs BGR itself
            rgb = block if mode == "RGB" else block.convert("RGB")
            rows[:] = np.frombuffer(rgb.tobytes("raw", "BGR"), np.uint8).reshape(rows.shape)
    return out


def load_image(
    src: Path | str | bytes | bytearray | memoryview,
    *,
    max_pixels: int = MAX_PIXELS,
    max_bytes: int | None = None,
    reduce: bool = True,
) -> ImageArray:
    """Decode `src` (a path or the file's bytes) to a BGR uint8 array of shape (H, W, 3).

    Raises ImageError with a one-line message for anything that is not a usable image. With
    `reduce` false a JPEG over `max_pixels` is refused instead of decoded at a smaller scale (a
    sprite sheet, whose VTT regions are in full-size pixels).
    """
    limit = MAX_BYTES if max_bytes is None else max_bytes
    data = _read_source(src, limit)
    where = f": {src}" if isinstance(src, str | Path) else ""
    try:
        im = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
    except UnidentifiedImageError:
        raise ImageError(
            f"not an image in an accepted format ({', '.join(ALLOWED_FORMATS)}){where}"
        ) from None
    except Image.DecompressionBombError:
        raise ImageError(f"image has too many pixels (decompression bomb){where}") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageError(f"cannot decode image: {_one_line(exc)}{where}") from None
    with im:
        width, height = im.size
        if width <= 0 or height <= 0:
            raise ImageError(f"image has no pixels ({width}x{height}){where}")
        _fit_budget(im, max_pixels, where, reduce)
        try:
            im.load()
            # in place: without it an upright image is copied whole, a turned one held twice
            with contextlib.suppress(Exception):  # a broken EXIF block must not lose the image
                ImageOps.exif_transpose(im, in_place=True)
            return _to_bgr(im)
        except Image.DecompressionBombError:
            raise ImageError(f"image has too many pixels (decompression bomb){where}") from None
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            raise ImageError(f"cannot decode image: {_one_line(exc)}{where}") from None
        except MemoryError:
            raise ImageError(f"image is too large to decode{where}") from None


def _fit_budget(im: Image.Image, max_pixels: int, where: str, reduce: bool) -> None:
    """Refuse an image over the pixel or byte budget, or make a JPEG decode small enough."""
    width, height = im.size
    if width * height <= max_pixels:
        copies = 2 if im.format in _DOUBLE_DECODE else 1
        decoded = width * height * _mode_bytes(im.mode) * copies
        if decoded > MAX_DECODED_BYTES:
            raise ImageError(
                f"image is too large to decode: {width}x{height} {im.format} {im.mode} takes "
                f"{decoded // 2**20} MB decoded (limit {MAX_DECODED_BYTES // 2**20} MB){where}"
            )
        return
    if reduce and im.format in ("JPEG", "MPO"):
        for scale in _JPEG_SCALES[1:]:
            small = (-(-width // scale), -(-height // scale))
            if small[0] * small[1] <= max_pixels:
                im.draft(None, small)
                return
    raise ImageError(f"image has too many pixels: {width}x{height} (limit {max_pixels}){where}")


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:200]
