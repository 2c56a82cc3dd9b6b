"""A corpus of hostile and unusual image files, for the data formats (and later translate/score/sample).

`make_corpus(root)` writes >= 200 files and returns {file name: expected}, where expected is either
("load", (width, height) after EXIF rotation) or ("skip", reason-substring)."""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image


def _png_bytes(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG", **kw)
    return buf.getvalue()


def _jpeg_bytes(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", **kw)
    return buf.getvalue()


def _png_with_size(width: int, height: int) -> bytes:
    """A valid-looking PNG header declaring width x height with a tiny (wrong) payload: a decompression bomb
    Pillow must refuse before allocating."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + \
        chunk(b"IEND", b"")


def make_corpus(root: Path) -> dict[str, tuple[str, object]]:
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    expected: dict[str, tuple[str, object]] = {}

    def put(name: str, data: bytes, outcome: tuple[str, object]) -> None:
        (root / name).write_bytes(data)
        expected[name] = outcome

    rgb = Image.fromarray(rng.integers(0, 255, (24, 32, 3), dtype=np.uint8))
    good_png, good_jpg = _png_bytes(rgb), _jpeg_bytes(rgb)

    # --- files that must load (correctly) ---
    put("plain.png", good_png, ("load", (32, 24)))
    put("plain.jpg", good_jpg, ("load", (32, 24)))
    put("png_named.jpg", good_png, ("load", (32, 24)))  # wrong extension, valid content
    put("jpeg_named.png", good_jpg, ("load", (32, 24)))
    put("sixteen_bit.png", _png_bytes(Image.fromarray(rng.integers(0, 65535, (20, 20), dtype=np.uint16))),
        ("load", (20, 20)))
    put("cmyk.jpg", _jpeg_bytes(rgb.convert("CMYK")), ("load", (32, 24)))
    put("palette.png", _png_bytes(rgb.convert("P", palette=Image.ADAPTIVE)), ("load", (32, 24)))
    put("palette_transparent.png", _png_bytes(rgb.convert("P"), transparency=0), ("load", (32, 24)))
    put("rgba.png", _png_bytes(rgb.convert("RGBA")), ("load", (32, 24)))
    put("la.png", _png_bytes(rgb.convert("LA")), ("load", (32, 24)))
    put("gray.png", _png_bytes(rgb.convert("L")), ("load", (32, 24)))
    put("bilevel.png", _png_bytes(rgb.convert("1")), ("load", (32, 24)))
    put("one_by_one.png", _png_bytes(Image.new("RGB", (1, 1), (200, 10, 10))), ("load", (1, 1)))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise for display
    put("exif_rotated.jpg", _jpeg_bytes(rgb, exif=exif.tobytes()), ("load", (24, 32)))
    frames = [Image.new("P", (16, 12), i) for i in range(3)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)
    put("animated.gif", buf.getvalue(), ("load", (16, 12)))
    buf = io.BytesIO()
    rgb.save(buf, "BMP")
    put("bitmap.bmp", buf.getvalue(), ("load", (32, 24)))
    buf = io.BytesIO()
    rgb.save(buf, "WEBP")
    put("photo.webp", buf.getvalue(), ("load", (32, 24)))
    buf = io.BytesIO()
    rgb.save(buf, "TIFF")
    put("photo.tiff", buf.getvalue(), ("load", (32, 24)))

    # --- files that must be skipped, with a reason ---
    put("zero.png", b"", ("skip", "not an image"))
    put("zero.jpg", b"", ("skip", "not an image"))
    for i in range(60):  # truncated PNGs and JPEGs at many cut points
        cut_png = 8 + (len(good_png) - 9) * i // 60 + 1
        put(f"truncated_{i:02d}.png", good_png[:cut_png], ("skip", ""))
        cut_jpg = 2 + (len(good_jpg) - 40) * i // 60 + 1
        put(f"truncated_{i:02d}.jpg", good_jpg[:cut_jpg], ("skip", ""))
    for i in range(30):  # junk
        put(f"junk_{i:02d}.png", rng.integers(0, 256, int(rng.integers(1, 4000)), dtype=np.uint8).tobytes(),
            ("skip", "not an image"))
        put(f"text_{i:02d}.jpg", f"hello {i}\n".encode() * (i + 1), ("skip", "not an image"))
    for i in range(20):  # valid PNG signature, corrupted body
        body = bytearray(good_png)
        pos = 40 + i * (len(body) - 60) // 20
        body[pos:pos + 8] = b"\xff" * 8
        put(f"bitflip_{i:02d}.png", bytes(body), ("skip", ""))
    put("bomb.png", _png_with_size(100_000, 100_000), ("skip", "too many pixels"))
    put("bomb_wide.png", _png_with_size(1_000_000, 200), ("skip", "too many pixels"))
    # symlinks: a loop, and one to nowhere
    os.symlink(root / "loop_b.png", root / "loop_a.png")
    os.symlink(root / "loop_a.png", root / "loop_b.png")
    expected["loop_a.png"] = expected["loop_b.png"] = ("skip", "symlink")
    os.symlink(root / "does_not_exist.png", root / "dangling.png")
    expected["dangling.png"] = ("skip", "symlink")
    (root / "subdir_loop").mkdir()
    os.symlink(root, root / "subdir_loop" / "up")  # a directory cycle must not hang the scan
    if os.geteuid() != 0:  # root reads any file: a permission fault cannot be staged for root
        put("no_permission.png", good_png, ("skip", "permission denied"))
        os.chmod(root / "no_permission.png", 0)
    return expected


def assert_each_readable_file_written(expected: dict, out_dir: Path, size_of) -> None:
    """Every file of the corpus that must load has an output under its name (PNG where Pillow cannot write its
    format) of size `size_of(input size)`, and nothing else was written."""
    from gankit.tasks.files import WRITABLE

    loaded = [n for n, (kind, _) in expected.items() if kind == "load"]
    assert len([p for p in out_dir.rglob("*") if p.is_file()]) == len(loaded)
    for name in loaded:
        stem, dot, ext = name.rpartition(".")
        target = out_dir / (name if dot and "." + ext.lower() in WRITABLE else (stem or name) + ".png")
        with Image.open(target) as img:
            assert img.size == tuple(size_of(expected[name][1])), name
