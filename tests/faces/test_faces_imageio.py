"""load_image: every odd but valid image decodes to BGR uint8 (and its face is still found);
every bad input is refused with a one-line ImageError."""

from __future__ import annotations

import io
import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from stash_sense.faces import FaceEngine, ImageError, load_image


@pytest.fixture(scope="module")
def face_rgb(lfw_dev: Path) -> Image.Image:
    return Image.open(lfw_dev / "Abdoulaye_Wade" / "0.jpg").convert("RGB")


def _encode(im: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def _exif_rotated(im: Image.Image) -> bytes:
    """The photo stored turned on its side, with EXIF orientation 6 (rotate 90 CW to view)."""
    stored = im.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    return _encode(stored, "JPEG", exif=exif.tobytes())


def _png16(im: Image.Image) -> bytes:
    gray16 = (np.asarray(im.convert("L"), dtype=np.uint16) * 257).astype(np.uint16)
    return _encode(Image.fromarray(gray16), "PNG")


VARIANTS = {
    "jpeg": lambda im: _encode(im, "JPEG"),
    "exif_rotated": _exif_rotated,
    "grayscale": lambda im: _encode(im.convert("L"), "PNG"),
    "palette": lambda im: _encode(im.convert("P", palette=Image.Palette.ADAPTIVE), "PNG"),
    "cmyk_jpeg": lambda im: _encode(im.convert("CMYK"), "JPEG"),
    "rgba": lambda im: _encode(im.convert("RGBA"), "PNG"),
    "la": lambda im: _encode(im.convert("LA"), "PNG"),
    "png16": _png16,
    "int32": lambda im: _encode(im.convert("I"), "TIFF"),
    "webp": lambda im: _encode(im, "WEBP"),
    "bmp": lambda im: _encode(im, "BMP"),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_variants_decode_and_keep_their_face(
    variant: str, face_rgb: Image.Image, engine: FaceEngine
) -> None:
    image = load_image(VARIANTS[variant](face_rgb))
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    assert image.shape[:2] == (250, 250)
    faces = engine.detect(image)
    assert faces, f"no face in the {variant} variant"
    box = faces[0].box
    # the face stays where it was: the EXIF rotation was undone
    assert 60 < box.x + box.w / 2 < 190 and 60 < box.y + box.h / 2 < 190


def test_rgba_transparency_is_composited_on_grey() -> None:
    im = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    image = load_image(_encode(im, "PNG"))
    assert tuple(image[0, 0]) == (128, 128, 128)


def test_one_pixel_image_has_no_face(engine: FaceEngine) -> None:
    image = load_image(_encode(Image.new("RGB", (1, 1), (10, 20, 30)), "PNG"))
    assert image.shape == (1, 1, 3)
    assert tuple(image[0, 0]) == (30, 20, 10)  # BGR
    assert engine.analyze(image) == []


def test_path_input(lfw_dev: Path) -> None:
    image = load_image(lfw_dev / "Abdoulaye_Wade" / "0.jpg")
    assert image.shape == (250, 250, 3)
    assert load_image(str(lfw_dev / "Abdoulaye_Wade" / "0.jpg")).shape == (250, 250, 3)


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims width x height pixels but carries almost no data."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 16)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _assert_one_line(err: pytest.ExceptionInfo[ImageError]) -> None:
    message = str(err.value)
    assert message and "\n" not in message


def test_decompression_bomb_is_refused_fast() -> None:
    started = time.perf_counter()
    with pytest.raises(ImageError, match="too many pixels") as err:
        load_image(_png_header_only(30000, 30000))
    assert time.perf_counter() - started < 1.0
    _assert_one_line(err)


def test_pixel_limit_is_configurable(face_rgb: Image.Image) -> None:
    with pytest.raises(ImageError, match="too many pixels"):
        load_image(_encode(face_rgb, "PNG"), max_pixels=100 * 100)


def test_byte_limit(face_rgb: Image.Image, tmp_path: Path) -> None:
    data = _encode(face_rgb, "PNG")
    with pytest.raises(ImageError, match="too large"):
        load_image(data, max_bytes=1000)
    path = tmp_path / "big.png"
    path.write_bytes(data)
    with pytest.raises(ImageError, match="too large") as err:
        load_image(path, max_bytes=1000)
    _assert_one_line(err)
    assert load_image(path).shape == (250, 250, 3)  # the default limit is far larger


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="not found") as err:
        load_image(tmp_path / "nope.jpg")
    _assert_one_line(err)


def test_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ImageError):
        load_image(tmp_path)


def test_empty_file_and_bytes(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    with pytest.raises(ImageError, match="empty"):
        load_image(empty)
    with pytest.raises(ImageError, match="empty"):
        load_image(b"")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated_image(fmt: str, face_rgb: Image.Image) -> None:
    data = _encode(face_rgb, fmt)
    with pytest.raises(ImageError, match="cannot decode") as err:
        load_image(data[: len(data) // 2])
    _assert_one_line(err)


@pytest.mark.parametrize(
    "data", [b"this is not an image at all", b"<html><body>404</body></html>", bytes(range(256))]
)
def test_not_an_image(data: bytes) -> None:
    with pytest.raises(ImageError, match="not an image") as err:
        load_image(data)
    _assert_one_line(err)


def test_image_error_is_a_value_error() -> None:
    assert issubclass(ImageError, ValueError)


def _big(mode: str, size: tuple[int, int], fmt: str, **kw: object) -> bytes:
    """A noisy image of `size` in `mode` (blocks of noise enlarged: a small file)."""
    rng = np.random.default_rng(3)
    channels = {"I": 0, "RGB": 3, "RGBA": 4}[mode]
    shape = (size[1] // 10, size[0] // 10) + ((channels,) if channels else ())
    small = rng.integers(0, 60000 if mode == "I" else 255, shape).astype(
        np.int32 if mode == "I" else np.uint8
    )
    big = Image.fromarray(small, mode).resize(size, Image.Resampling.NEAREST)
    return _encode(big, fmt, **kw)


def test_the_budget_counts_the_decoded_modes_bytes() -> None:
    """24 MP is within the pixel budget, but as 32-bit TIFF or RGBA WebP (4 bytes a pixel, and
    libwebp's own buffer) it once added 670 and 790 MB while decoding: refused from the header."""
    for data in (_big("I", (6000, 4000), "TIFF", compression="tiff_deflate"),
                 _big("RGBA", (6000, 4000), "WEBP", lossless=True)):  # fmt: skip
        started = time.monotonic()
        with pytest.raises(ImageError, match="too large to decode") as err:
            load_image(data)
        _assert_one_line(err)
        assert time.monotonic() - started < 1.0


PEAK_SCRIPT = """
import sys
from pathlib import Path
from stash_sense.faces import load_image
def status(key):
    line = next(l for l in Path("/proc/self/status").read_text().splitlines() if l.startswith(key))
    return int(line.split()[1]) // 1024
data = open(sys.argv[1], "rb").read()
Path("/proc/self/clear_refs").write_text("5")  # the peak (VmHWM) starts again from here
before = status("VmRSS:")
shape = load_image(data).shape
print(shape[0] * shape[1], status("VmHWM:") - before)
"""


@pytest.mark.parametrize(
    ("mode", "size", "fmt", "options"),
    [("RGB", (6000, 4000), "JPEG", {}),
     ("I", (4240, 4000), "TIFF", {"compression": "tiff_deflate"}),
     ("RGBA", (4240, 4000), "PNG", {}),
     ("RGBA", (3000, 2900), "WEBP", {"lossless": True})],
    ids=["jpeg-24mp", "tiff-i-17mp", "png-rgba-17mp", "webp-rgba-8.7mp"],
)  # fmt: skip
def test_the_largest_images_within_the_budget_decode_in_little_memory(
    tmp_path: Path, mode: str, size: tuple[int, int], fmt: str, options: dict[str, object]
) -> None:
    """Peak memory a decode adds, in a fresh process: the decoded image and the BGR array, and
    little else (the old conversions added 330-470 MB for these)."""
    import subprocess
    import sys

    image = tmp_path / f"big.{fmt.lower()}"
    image.write_bytes(_big(mode, size, fmt, **options))
    done = subprocess.run([sys.executable, "-c", PEAK_SCRIPT, str(image)],
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    pixels, added_mb = map(int, done.stdout.split())
    assert pixels == size[0] * size[1]
    assert added_mb < 200, f"{fmt} {mode} {size}: {added_mb} MB"
