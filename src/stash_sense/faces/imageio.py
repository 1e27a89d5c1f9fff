"""Decode an image file or bytes into a BGR uint8 array, safely.

Anything odd is converted (EXIF orientation, grayscale, palette, CMYK, alpha, 16-bit); anything
bad is refused with an ImageError whose message is one line (missing, empty, truncated, not an
image, too many pixels, too many bytes). Pixel counts are checked from the header, before any
pixel is decoded, against a budget that fits memory (a decoded pixel costs 3-4 bytes, and the
conversions below hold two or three copies at once); a larger JPEG is decoded at 1/2, 1/4 or 1/8
scale (libjpeg's DCT scaling, `Image.draft`), which costs a fraction of the memory and time. Only
the formats in ALLOWED_FORMATS are opened: Pillow would otherwise hand an EPS file to
Ghostscript, and each rarely used decoder is more attack surface for no gain.
"""

from __future__ import annotations

import io
from pathlib import Path

import cv2
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


def _to_8bit(arr: np.ndarray) -> np.ndarray:
    """Scale a single-channel integer or float array to uint8."""
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype.kind == "f":
        finite = np.nan_to_num(arr.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        top = float(finite.max()) if finite.size else 0.0
        scale = 255.0 if top <= 1.0 else (255.0 / top if top > 255.0 else 1.0)
        return np.clip(finite * scale, 0, 255).astype(np.uint8)
    wide = arr.astype(np.int64)
    top = int(wide.max()) if wide.size else 0
    if top > 255:
        # 16-bit data (PNG I;16 often arrives as mode "I"): keep the high byte
        wide = wide // 257 if top <= 65535 else wide * 255 // top
    return np.clip(wide, 0, 255).astype(np.uint8)


def _to_bgr(im: Image.Image) -> np.ndarray:
    mode = im.mode
    if mode in ("I", "F") or mode.startswith("I;16"):
        gray = _to_8bit(np.asarray(im))
        return np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2))
    has_alpha = mode in ("RGBA", "LA", "PA", "La", "RGBa") or (
        mode == "P" and "transparency" in im.info
    )
    if has_alpha:
        rgba = im.convert("RGBA")
        base = Image.new("RGBA", rgba.size, (*_BACKGROUND, 255))
        rgb = Image.alpha_composite(base, rgba).convert("RGB")
    elif mode == "RGB":
        rgb = im
    else:  # L, 1, P, CMYK, YCbCr, LAB, HSV, ...
        rgb = im.convert("RGB")
    arr = np.array(rgb, dtype=np.uint8)  # one writable copy, turned to BGR in place
    return cv2.cvtColor(arr, cv2.COLOR_RGB2BGR, dst=arr)


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
            try:
                oriented = ImageOps.exif_transpose(im)
            except Exception:  # a broken EXIF block must not lose the image
                oriented = im
            return _to_bgr(oriented)
        except Image.DecompressionBombError:
            raise ImageError(f"image has too many pixels (decompression bomb){where}") from None
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            raise ImageError(f"cannot decode image: {_one_line(exc)}{where}") from None
        except MemoryError:
            raise ImageError(f"image is too large to decode{where}") from None


def _fit_budget(im: Image.Image, max_pixels: int, where: str, reduce: bool) -> None:
    """Refuse an image over the pixel budget, or make a JPEG decode small enough (draft)."""
    width, height = im.size
    if width * height <= max_pixels:
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
