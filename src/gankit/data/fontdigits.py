"""`fontdigits[:FONTDIR]`: printed digits 0-9 rendered from fonts, made to look like MNIST's framing (SimGAN's
simulator: synthetic images whose labels come from the rendering).

Each image: one digit drawn at 64 px in a random face, its strokes thickened by 0-2 px or thinned by 1 (3x3 maximum or
minimum filters; thinning is skipped where it would take away half the ink, as on a light face),
rotated by up to 10 degrees and sheared by up to 0.2, then MNIST's normalisation (LeCun et al.): cut to its ink,
fitted into a 20x20 box keeping its aspect (antialiased), and placed in a 28x28 frame with its centre of mass at
the centre. Light digits on a dark ground, like MNIST.

Faces: with FONTDIR, every .ttf/.otf/.ttc below it; without, the DejaVu faces of the system (Debian's fonts-dejavu)
and those shipped in matplotlib's wheel (DejaVu, STIX, Computer Modern) when matplotlib is installed, plus Pillow's
built-in face, which is always there. A face is used only if it draws ten different, non-empty digits (a face
without digit glyphs draws the same box ten times). The set is deterministic from the split (train: 2,000 images
per class, test: 500, seeds 0 and 1) and the faces found; `fonts()` lists them.
"""

from __future__ import annotations

import hashlib
import sys
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..config import DataConfig
from ..errors import DataError
from ..registry import DATASETS
from .builtin import DIGIT_CLASSES, _tensor_set

PER_CLASS = {"train": 2000, "test": 500}
SEEDS = {"train": 0, "test": 1}
RENDER_SIZE = 64
RECIPE = 1  # raise when the rendering changes, so cached sets are made again
FONT_EXTENSIONS = (".ttf", ".otf", ".ttc")
SYSTEM_FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.fonts", "~/.local/share/fonts",
                    "/Library/Fonts", "/System/Library/Fonts", "C:/Windows/Fonts")
# Faces whose digits are not text digits (math symbols, old-style figures, size variants, a fallback face), and hairline
# faces, whose strokes vanish at MNIST's 20 px.
NOT_TEXT = ("math", "sym", "nonuni", "lastresort", "cmex", "cmsy", "cmmi", "extralight", "thin", "hairline")
BUILTIN = "<pillow>"  # Pillow's own scalable face


def _printed(path: Path) -> bool:
    name = path.name.lower()
    return not any(word in name for word in NOT_TEXT)


def _candidates(font_dir: str) -> list[str]:
    if font_dir:
        root = Path(font_dir).expanduser()
        if not root.is_dir():
            raise DataError(f"fontdigits:{font_dir} is not a directory")
        return sorted(str(p) for p in root.rglob("*") if p.suffix.lower() in FONT_EXTENSIONS)
    found = []
    for d in SYSTEM_FONT_DIRS:
        root = Path(d).expanduser()
        if root.is_dir():
            found += [p for p in root.rglob("*") if p.suffix.lower() in FONT_EXTENSIONS and "dejavu" in p.name.lower()]
    import importlib.util

    spec = importlib.util.find_spec("matplotlib")  # its fonts, without importing it
    if spec and spec.submodule_search_locations:
        ttf = Path(list(spec.submodule_search_locations)[0]) / "mpl-data" / "fonts" / "ttf"
        if ttf.is_dir():
            found += sorted(ttf.glob("*.ttf"))
    return sorted({str(p) for p in found if _printed(p)}) + [BUILTIN]


def _load_font(path: str, size: int):
    from PIL import ImageFont

    if path == BUILTIN:
        return ImageFont.load_default(size)
    return ImageFont.truetype(path, size)


def _glyph(font, digit: str) -> np.ndarray:
    from PIL import Image, ImageDraw

    canvas = Image.new("L", (2 * RENDER_SIZE, 2 * RENDER_SIZE), 0)
    ImageDraw.Draw(canvas).text((RENDER_SIZE, RENDER_SIZE), digit, fill=255, font=font, anchor="mm")
    return np.asarray(canvas)


@lru_cache(maxsize=8)
def fonts(font_dir: str = "") -> tuple[tuple[str, str], ...]:
    """The usable faces: (path, 'Family Style'), one per family and style, in a fixed order."""
    usable, seen = [], set()
    for path in _candidates(font_dir):
        try:
            font = _load_font(path, RENDER_SIZE)
            name = " ".join(n for n in font.getname() if n)
            glyphs = [_glyph(font, d) for d in "0123456789"]
        except (OSError, ValueError):
            continue
        if name in seen or any(g.max() == 0 for g in glyphs):
            continue
        digests = {hashlib.sha256(g.tobytes()).hexdigest() for g in glyphs}
        if len(digests) < 10:  # a face without digits draws one placeholder box for all of them
            continue
        seen.add(name)
        usable.append((path, name))
    if not usable:
        raise DataError(f"fontdigits: no face below {font_dir or 'the system font folders'} draws the digits 0-9")
    return tuple(usable)


def mnist_frame(ink: np.ndarray) -> np.ndarray:
    """A light-on-dark glyph (uint8, any size) -> 28x28 uint8 as MNIST was made: cut to its ink, fitted into 20x20
    keeping its aspect (antialiased), centre of mass moved to the frame's centre (rounded to whole pixels)."""
    from PIL import Image

    rows, cols = np.nonzero(ink)
    if len(rows) == 0:
        return np.zeros((28, 28), np.uint8)
    ink = ink[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    h, w = ink.shape
    scale = 20 / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    box = np.asarray(Image.fromarray(ink).resize(size, Image.LANCZOS), dtype=np.float64)
    frame = np.zeros((28, 28))
    top, left = (28 - size[1]) // 2, (28 - size[0]) // 2
    frame[top:top + size[1], left:left + size[0]] = box
    mass = frame.sum()
    if mass > 0:
        ys, xs = np.indices(frame.shape)
        dy, dx = round(13.5 - (ys * frame).sum() / mass), round(13.5 - (xs * frame).sum() / mass)
        frame = np.roll(frame, (dy, dx), axis=(0, 1))  # the ink is at most 20 px wide: nothing wraps around
    return np.clip(np.rint(frame), 0, 255).astype(np.uint8)


def render(digit: int, font, rng: np.random.Generator) -> np.ndarray:
    """One synthetic digit, 28x28 uint8, its variation drawn from `rng`."""
    from PIL import Image, ImageFilter

    img = Image.fromarray(_glyph(font, str(digit)))
    stroke = int(rng.integers(-1, 3))  # -1 thinner, 0, +1, +2 px thicker
    for _ in range(stroke):
        img = img.filter(ImageFilter.MaxFilter(3))
    if stroke < 0:
        thinner = img.filter(ImageFilter.MinFilter(3))
        if np.asarray(thinner).sum() >= 0.5 * np.asarray(img).sum():  # a light face keeps its strokes
            img = thinner
    angle, shear = np.deg2rad(rng.uniform(-10, 10)), rng.uniform(-0.2, 0.2)
    # Output pixel (x, y) reads input A (x - c) + c: a rotation and a horizontal shear about the canvas centre.
    cos, sin = np.cos(angle), np.sin(angle)
    a, b, d, e = cos, -sin + shear * cos, sin, cos + shear * sin
    c = RENDER_SIZE
    img = img.transform(img.size, Image.AFFINE, (a, b, c - a * c - b * c, d, e, c - d * c - e * c),
                        resample=Image.BICUBIC)
    return mnist_frame(np.asarray(img))


def _cache_key(per_class: int, seed: int, font_dir: str) -> str:
    """What defines a rendered set: this recipe's version, its size and seed, and every face file's bytes."""
    import PIL

    h = hashlib.sha256(f"{RECIPE}|{per_class}|{seed}".encode())
    for path, name in fonts(font_dir):
        h.update(name.encode())
        h.update(f"pillow {PIL.__version__}".encode() if path == BUILTIN else Path(path).read_bytes())
    return h.hexdigest()[:24]


def render_set(per_class: int, seed: int, font_dir: str = "", progress: bool = True
               ) -> tuple[np.ndarray, np.ndarray]:
    """(N, 28, 28) uint8 images and (N,) labels, classes in turn, each image's face and variation seeded. Made
    once and kept in gankit's cache (a rendering takes about a millisecond an image)."""
    import torch
    from tqdm import tqdm

    from ..config import cache_dir
    from ..safetensors_io import read_tensors, write_tensors

    path = cache_dir() / "fontdigits" / f"{_cache_key(per_class, seed, font_dir)}.safetensors"
    if path.is_file():
        stored = read_tensors(path)
        return stored["images"].numpy(), stored["labels"].numpy()
    faces = [_load_font(face, RENDER_SIZE) for face, _ in fonts(font_dir)]
    rng = np.random.default_rng(seed)
    n = 10 * per_class
    labels = np.arange(n) % 10
    images = np.empty((n, 28, 28), np.uint8)
    for i in tqdm(range(n), desc="fontdigits", unit="img", disable=not progress or n < 5000, file=sys.stderr,
                  dynamic_ncols=True):
        images[i] = render(int(labels[i]), faces[int(rng.integers(len(faces)))], rng)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    write_tensors(partial, {"images": torch.from_numpy(images), "labels": torch.from_numpy(labels)})
    partial.replace(path)  # a run killed while writing leaves no entry that would be read
    return images, labels


@DATASETS.register("fontdigits")
def fontdigits(arg: str, cfg: DataConfig):
    """Printed digits rendered from fonts, framed as MNIST (SimGAN's synthetic side); fontdigits:FONTDIR for yours."""
    splits = ["train", "test"] if cfg.split == "all" else [cfg.split]
    parts = [render_set(PER_CLASS[s], SEEDS[s], arg, progress=True) for s in splits]
    images, labels = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    return _tensor_set("fontdigits", images, labels, cfg, DIGIT_CLASSES, default_size=28)
