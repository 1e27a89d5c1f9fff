"""`stash-sense identify` on every kind of odd or bad input, through the real command.

Odd but valid images (EXIF-rotated CMYK, 16-bit grey, alpha, 1x1) are read; bad ones (zero bytes,
truncated, not an image, a 30000x30000 PNG, a missing path) each get a one-line error in their
JSON record while the other images are still answered; the exit code is 2 then, 0 otherwise,
and stderr carries nothing else (no OpenCV log lines).
"""

from __future__ import annotations

import io
import json
import struct
import time
import zlib
from pathlib import Path

import numpy as np
from clikit import run_cli
from PIL import Image


def _chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def bomb_png(side: int = 30000, rows_per_block: int = 100) -> bytes:
    """A complete, valid side x side grey PNG (all black), built without compressing 900 MB.

    Full flushes make every block of rows compress to the same bytes, so one block is repeated;
    the zlib trailer carries the true Adler-32 of all the rows.
    """
    block = b"\0" * (side + 1) * rows_per_block
    z = zlib.compressobj(9)
    first = z.compress(block) + z.flush(zlib.Z_FULL_FLUSH)
    middle = z.compress(block) + z.flush(zlib.Z_FULL_FLUSH)
    last = z.compress(block) + z.flush(zlib.Z_FINISH)
    adler, blocks = 1, side // rows_per_block
    for _ in range(blocks):
        adler = zlib.adler32(block, adler)
    idat = first + middle * (blocks - 2) + last[:-4] + struct.pack(">I", adler)
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    )


def _save(im: Image.Image, path: Path, fmt: str, **kw: object) -> Path:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    path.write_bytes(buf.getvalue())
    return path


def odd_images(photo: Path, folder: Path) -> dict[str, Path]:
    """Valid images made from one real LFW photo: each must still show the same person."""
    rgb = Image.open(photo).convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned on its side; viewers rotate it 90 degrees clockwise
    turned = rgb.transpose(Image.Transpose.ROTATE_90).convert("CMYK")
    grey16 = Image.fromarray(
        (np.asarray(rgb.convert("L"), dtype=np.uint16) * 257).astype(np.uint16)
    )
    rgba = rgb.convert("RGBA")
    rgba.putalpha(Image.new("L", rgb.size, 200))
    return {
        "exif_cmyk": _save(turned, folder / "exif_cmyk.jpg", "JPEG", exif=exif.tobytes()),
        "grey16": _save(grey16, folder / "grey16.png", "PNG"),
        "alpha": _save(rgba, folder / "alpha.png", "PNG"),
    }


def test_bad_inputs_get_one_line_each_and_exit_2(
    enrolled: tuple[Path, Path], lfw: Path, tmp_path: Path
) -> None:
    db, _ = enrolled
    photo = lfw / "lfw-dev" / "Adam_Sandler" / "3.jpg"
    data = photo.read_bytes()
    bad = {
        "empty": tmp_path / "empty.jpg",
        "truncated": tmp_path / "truncated.jpg",
        "text": tmp_path / "notes.jpg",
        "bomb": tmp_path / "bomb.png",
        "missing": tmp_path / "missing.jpg",
    }
    bad["empty"].write_bytes(b"")
    bad["truncated"].write_bytes(data[: len(data) // 3])
    bad["text"].write_text("these are not pixels\n")
    bad["bomb"].write_bytes(bomb_png())
    tiny = _save(Image.new("RGB", (1, 1), (200, 150, 120)), tmp_path / "tiny.png", "PNG")
    odd = odd_images(photo, tmp_path)
    images = [*bad.values(), tiny, photo, *odd.values()]
    started = time.perf_counter()
    proc = run_cli("identify", "--db", db, "--json", *images)
    elapsed = time.perf_counter() - started
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines() == [f"{len(bad)} of {len(images)} images could not be read"]
    records = {Path(r["image"]): r for r in map(json.loads, proc.stdout.splitlines())}
    assert list(records) == images  # every input answered, in order
    expected = {
        "empty": "empty",
        "truncated": "cannot decode",
        "text": "not an image",
        "bomb": "too many pixels",
        "missing": "not found",
    }
    for kind, path in bad.items():
        error = records[path]["error"]
        assert expected[kind] in error and "\n" not in error, (kind, error)
    assert records[tiny]["faces"] == []
    for path in [photo, *odd.values()]:
        faces = records[path]["faces"]
        assert faces and faces[0]["matches"][0]["name"] == "Adam_Sandler", (path, faces)
    assert elapsed < 120  # the 30000x30000 image is refused from its header, never decoded


def test_all_readable_exits_0_and_stderr_stays_empty(
    enrolled: tuple[Path, Path], lfw: Path, tmp_path: Path
) -> None:
    db, _ = enrolled
    blank = _save(Image.new("L", (320, 240), 90), tmp_path / "blank.png", "PNG")
    photo = lfw / "lfw-dev" / "Diana_Krall" / "2.jpg"
    proc = run_cli("identify", "--db", db, "--json", photo, blank)
    assert proc.returncode == 0
    assert proc.stderr == ""
    first, second = map(json.loads, proc.stdout.splitlines())
    assert first["faces"][0]["matches"][0]["name"] == "Diana_Krall"
    assert second == {"image": str(blank), "faces": []}


def test_only_unreadable_images_exit_2_cleanly(enrolled: tuple[Path, Path], tmp_path: Path) -> None:
    """Every image refused at once: the command ends while the indices may still be loading
    in the background; it waits for them rather than aborting the process (exit 134)."""
    db, _ = enrolled
    text = tmp_path / "notes.jpg"
    text.write_text("these are not pixels\n")
    for _ in range(4):  # a race: the old code aborted in about one run of three
        proc = run_cli("identify", "--db", db, "--json", text)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.splitlines() == ["1 of 1 images could not be read"]
        assert "not an image" in json.loads(proc.stdout)["error"]


def test_a_table_names_a_bad_image_once(enrolled: tuple[Path, Path], tmp_path: Path) -> None:
    db, _ = enrolled
    text = tmp_path / "notes.jpg"
    text.write_text("these are not pixels\n")
    proc = run_cli("identify", "--db", db, text)
    assert proc.returncode == 2, proc.stderr
    said = " ".join((proc.stdout + proc.stderr).split())  # the table wraps at 80 columns
    assert "not an image" in said and said.count(str(text)) == 1, said
