"""Image conversions shared by the data formats (no torchvision: see README)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps

# data.fit=box: a pixel is ink when brighter than this share of white (MNIST's faint anti-aliasing halo is not)
BOX_INK = 0.1


def to_mode(img: Image.Image, channels: int) -> Image.Image:
    """Grayscale or RGB, whatever the file held (palette, RGBA on white, CMYK, 16-bit, ...)."""
    img = ImageOps.exif_transpose(img)  # phones store rotation as a tag; users expect upright images
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        img = img.convert("RGBA")
        background = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, img)
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if arr.max() > 255 else 255.0
        img = Image.fromarray((arr / top * 255).round().astype(np.uint8))
    return img.convert("L" if channels == 1 else "RGB")


def resize_shorter(img: Image.Image, size: int) -> Image.Image:
    w, h = img.size
    if min(w, h) == size:
        return img
    scale = size / min(w, h)
    return img.resize((max(size, round(w * scale)), max(size, round(h * scale))), Image.BICUBIC)


def crop_box(w: int, h: int, size: int, random: bool, generator: torch.Generator | None) -> tuple:
    if random:
        left = int(torch.randint(0, w - size + 1, (1,), generator=generator))
        top = int(torch.randint(0, h - size + 1, (1,), generator=generator))
    else:
        left, top = (w - size) // 2, (h - size) // 2
    return (left, top, left + size, top + size)


def pil_to_tensor(img: Image.Image) -> torch.Tensor:
    """uint8 (C, H, W)."""
    arr = np.asarray(img, dtype=np.uint8)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    return torch.from_numpy(arr.copy()).permute(2, 0, 1)


def fit_box(images: torch.Tensor, size: int, ink: float) -> torch.Tensor:
    """(N, C, h, w) light-on-dark images -> (N, C, size, size) floats: each image cropped to the bounding box of
    its pixels brighter than `ink`, zero-padded to a centred square (the aspect ratio kept) and resized to fill
    the frame — how UCI normalised the digits scikit-learn ships, so MNIST prepared this way differs from them in
    style, not in scale and position. An image without ink is only resized."""
    out = torch.empty(len(images), images.shape[1], size, size, device=images.device)
    lit = images.amax(1) > ink
    rows, cols = lit.any(2), lit.any(1)
    for i, x in enumerate(images.float()):
        if rows[i].any():
            top, bottom = _span(rows[i])
            left, right = _span(cols[i])
            x = x[:, top:bottom, left:right]
            h, w = x.shape[-2:]
            side = max(h, w)
            x = F.pad(x, ((side - w) // 2, side - w - (side - w) // 2, (side - h) // 2, side - h - (side - h) // 2))
        out[i] = F.interpolate(x[None], size=(size, size), mode="bilinear", antialias=True, align_corners=False)[0]
    return out


def _span(mask: torch.Tensor) -> tuple[int, int]:
    """First index and one past the last index where a 1-D boolean mask is set."""
    where = mask.nonzero()
    return int(where[0]), int(where[-1]) + 1


def fit_images(x: torch.Tensor, size: int, mode: str, white: float = 1.0) -> torch.Tensor:
    """(N, C, h, w) floats (0 is black, `white` is white) -> (N, C, size, size) as data.fit says: antialiased
    resizing, zero padding (centred; images larger than size are resized), or the ink's bounding box fitted to the
    frame (`fit_box`). The one definition for training sets (`fit_uint8`) and for new images given to a trained
    model (`encode.to_model_input`), so both are framed alike."""
    h, w = x.shape[-2:]
    if mode == "box":
        return fit_box(x, size, ink=BOX_INK * white)
    if (h, w) == (size, size):
        return x
    if mode == "pad" and h <= size and w <= size:
        top, left = (size - h) // 2, (size - w) // 2
        return F.pad(x, (left, size - w - left, top, size - h - top))
    return F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)


def fit_uint8(images: torch.Tensor, size: int, mode: str) -> torch.Tensor:
    """(N, C, h, w) uint8 -> (N, C, size, size) uint8 by `fit_images` (lossless for padding)."""
    if mode != "box" and images.shape[-2:] == (size, size):
        return images
    out = [fit_images(chunk.float(), size, mode, white=255).round_().clamp_(0, 255).to(torch.uint8)
           for chunk in images.split(4096)]  # bounded memory for 70k-image sets
    return torch.cat(out)


def to_device(x: torch.Tensor, device: torch.device) -> torch.Tensor:
    """A small host tensor (indices, masks, 2-D points) on `device`. To a GPU through pinned memory without waiting:
    a plain copy from pageable memory synchronises, and this runs every step."""
    if device.type == "cuda" and x.device.type == "cpu":
        return x.pin_memory().to(device, non_blocking=True)
    return x.to(device)


def uint8_to_unit(x: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float [-1, 1], the range of a tanh generator."""
    return x.float().div_(127.5).sub_(1.0)


def to_model_range(x: torch.Tensor) -> torch.Tensor:
    """A batch entry as models take it: uint8 images to [-1, 1], anything else (labels, masks) as floats."""
    return uint8_to_unit(x) if x.dtype == torch.uint8 else x.float()
