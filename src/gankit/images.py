"""Saving images and grids with Pillow (no torchvision)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(N, C, H, W) floats in [0, 1] -> (N, H, W, C) uint8, converted 256 rows at a time: a 48-megapixel photo
    would need another 576 MB as one float copy."""
    images = images.detach()
    n, c, h, w = images.shape
    out = torch.empty((n, h, w, c), dtype=torch.uint8)
    for top in range(0, h, 256):
        block = images[:, :, top:top + 256].to("cpu", torch.float32).clamp(0, 1).mul_(255).round_()
        out[:, top:top + 256] = block.permute(0, 2, 3, 1).to(torch.uint8)
    return out.numpy()


def grid(images: torch.Tensor, nrow: int | None = None, pad: int = 2, min_tile: int = 64) -> Image.Image:
    """One picture of N images in rows of `nrow`, each tile scaled up (nearest) to at least `min_tile` px so
    that 32x32 samples are visible without zooming."""
    arr = to_uint8(images)
    n, h, w, c = arr.shape
    nrow = nrow or max(1, math.ceil(math.sqrt(n)))
    ncol_rows = math.ceil(n / nrow)
    scale = max(1, math.ceil(min_tile / max(h, w)))
    if scale > 1:
        arr = arr.repeat(scale, axis=1).repeat(scale, axis=2)
        h, w = h * scale, w * scale
    canvas = np.full((ncol_rows * (h + pad) + pad, nrow * (w + pad) + pad, c), 255, dtype=np.uint8)
    for i in range(n):
        r, col = divmod(i, nrow)
        top, left = pad + r * (h + pad), pad + col * (w + pad)
        canvas[top:top + h, left:left + w] = arr[i]
    return Image.fromarray(canvas[:, :, 0] if c == 1 else canvas)


def save_png(img: Image.Image, path: str | Path) -> None:
    """Write via a temporary file and rename, so a reader (or a crash) never sees half a PNG."""
    from .outputs import write_atomically

    write_atomically(path, lambda tmp: img.save(tmp, format="PNG"))


def scatter(points: torch.Tensor, dataset=None, size: int = 512) -> Image.Image:
    """2-D samples as a picture: black dots, and the mixture's modes as red crosses when the data has them."""
    from PIL import ImageDraw

    pts = points.detach().to("cpu", torch.float32)
    means = getattr(dataset, "means", None)
    ref = means if means is not None else pts
    lim = float(ref.abs().max()) * 1.25 + 1e-6
    img = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(img)

    def px(x: float, y: float) -> tuple[float, float]:
        return (x / lim + 1) * size / 2, (1 - y / lim) * size / 2

    for x, y in pts.tolist():
        cx, cy = px(x, y)
        draw.ellipse((cx - 1.5, cy - 1.5, cx + 1.5, cy + 1.5), fill=(0, 0, 0))
    if means is not None:
        for x, y in means.tolist():
            cx, cy = px(x, y)
            draw.line((cx - 6, cy, cx + 6, cy), fill=(220, 0, 0), width=2)
            draw.line((cx, cy - 6, cx, cy + 6), fill=(220, 0, 0), width=2)
    return img


def heat(x: torch.Tensor) -> torch.Tensor:
    """(N, 1, H, W) values in [0, 1] -> (N, 3, H, W) colours from black through red and yellow to white, so the
    brightest residuals stand out at a glance."""
    x = x.clamp(0, 1)
    return torch.cat([(3 * x).clamp(0, 1), (3 * x - 1).clamp(0, 1), (3 * x - 2).clamp(0, 1)], 1)


def columns(*images: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Image batches of equal size side by side, row i holding image i of each (grayscale ones shown as RGB when
    any is in colour): a sample grid and its row length."""
    channels = max(x.shape[1] for x in images)
    return torch.stack([x.expand(-1, channels, -1, -1) for x in images], 1).flatten(0, 1), len(images)
