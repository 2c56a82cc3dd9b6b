"""`gankit upscale`: super-resolution (EnhanceNet) of images of any size, on tensors and on files, and its
evaluation with the standard protocol.

Large images go through the network in overlapping tiles (nn/tiling.py) with a margin of the network's
`receptive_radius`, so the output equals the whole-image output and memory is bounded by the tile, not the photo.

Evaluation (on the held-out images, whole, not crops): each target image cropped to a multiple of the scale, its
input made by the data's own bicubic downscaling (rounded to 8 bits), and PSNR and SSIM on the luma channel (BT.601)
with `scale` pixels shaved off each border, beside the bicubic upsampling's; the high-frequency energy ratio (finest
Laplacian band of the output over the target's) and the Laplacian-patch Fréchet distance (of the images' central
region of the size they all have).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import torch
from PIL import Image
from torch import nn

from ..data.transforms import pil_to_tensor, to_mode
from ..images import grid, save_png
from ..nn import inference
from ..nn.resize import imresize
from ..nn.tiling import run_tiled
from ..outputs import check_folder
from . import require
from .files import LUMA, check_model_images, collect_inputs, image_files, input_bytes, save_image, writing_into


@runtime_checkable
class Upscaler(Protocol):
    """A system that enlarges images: the network from images in [0, 1] to `scale` times their size."""

    def upscaler(self) -> tuple[nn.Module, int]: ...


def upscale(model, images: torch.Tensor, tile: int = 128, overlap: int | None = None) -> torch.Tensor:
    """Images in [0, 1], (N, C, h, w) with the model's channels -> (N, C, scale h, scale w) in [0, 1], on the CPU."""
    require(model, "upscale")
    net, scale = model.upscaler()
    check_model_images(model, images)
    with inference(net):
        out = run_tiled(net, images.to(model.device, torch.float32), scale, tile, overlap)
    return out.clamp_(0, 1).cpu()  # in place: at x4 the output is the largest thing in memory


def upscale_files(model, inputs: list[str], out_dir: str | Path, compare: str | Path | None = None,
                  tile: int = 128, overlap: int | None = None, progress: bool = True,
                  originals: str | Path | None = None) -> list[Path]:
    """Each image file `scale` times larger into out_dir, names (and the layout below a folder) kept; grey images
    into a colour model by channel replication, colour into a grey one by luma. With `compare` (a folder), also the
    bicubic upsampling beside the model's, one PNG per input, and the original after them when `originals` (a folder)
holds a file of the input's name (and relative path), all three cut to the size they share."""
    from tqdm import tqdm

    require(model, "upscale")
    out_dir = check_folder(out_dir)
    if compare is not None:
        check_folder(compare, flag="compare")
    pairs = collect_inputs(inputs, out_dir)
    readable = set(image_files([str(source) for source, _ in pairs], "upscale"))
    pairs = [(source, target) for source, target in pairs if source in readable]
    _, scale = model.upscaler()
    check_folder(out_dir, need_bytes=input_bytes(pairs) * scale ** 2)  # a compressed file grows with its pixels
    written: list[Path] = []
    with writing_into(out_dir, written, len(pairs)):
        for source, target in tqdm(pairs, unit="img", disable=not progress, file=sys.stderr, dynamic_ncols=True):
            _upscale_file(model, source, target, scale, compare, originals, out_dir, tile, overlap)
            written.append(target)
    return written


def _upscale_file(model, source: Path, target: Path, scale: int, compare, originals, out_dir: Path, tile: int,
                  overlap: int | None) -> None:
    """One input into its target (and its comparison picture)."""
    with Image.open(source) as img:
        grey = img.mode in ("1", "L", "LA", "I", "I;16", "F")
        x = pil_to_tensor(to_mode(img, model.info.img_channels)).float()[None] / 255
    y = upscale(model, x, tile, overlap)
    if grey and y.shape[1] == 3:  # a grey photo stays grey
        y = (y * LUMA).sum(1, keepdim=True)
        x = x[:, :1]
    save_image(y[0], target)
    if compare is not None:
        shown = [imresize(x, scale=scale).clamp(0, 1), y]
        original = _original(originals, target.relative_to(out_dir), y.shape[1]) if originals else None
        if original is not None:
            h, w = (min(t.shape[-2] for t in (y, original)), min(t.shape[-1] for t in (y, original)))
            shown = [centre(t, h, w) for t in (*shown, original)]
        save_png(grid(torch.cat(shown), nrow=len(shown), min_tile=64),
                 Path(compare) / target.relative_to(out_dir).with_suffix(".png"))


def _original(folder: str | Path, rel: Path, channels: int) -> torch.Tensor | None:
    """The original of an input: the file at the same relative path below `folder`, any image suffix; None if absent
    or unreadable."""
    candidates = [Path(folder) / rel, *sorted((Path(folder) / rel.parent).glob(rel.stem + ".*"))]
    for path in candidates:
        if path.is_file():
            try:
                with Image.open(path) as img:
                    return pil_to_tensor(to_mode(img, channels)).float()[None] / 255
            except (OSError, ValueError, Image.DecompressionBombError):
                continue
    return None


# ---------------------------------------------------------------------------------------- evaluation


def evaluate(model, hr_images: list[torch.Tensor], seed: int = 0) -> dict[str, Any]:
    """The protocol above on whole held-out images (each (C, H, W) in [0, 1])."""
    from ..data.sr import lr_from_hr
    from ..metrics.image_quality import high_frequency_ratio, laplacian_fd, mod_crop, sr_psnr, sr_ssim

    _, scale = model.upscaler()
    m: dict[str, Any] = {"images": len(hr_images), "scale": scale}
    rows: dict[str, list[float]] = {k: [] for k in ("psnr_y", "ssim_y", "psnr_y_bicubic", "ssim_y_bicubic",
                                                     "hf_ratio", "hf_ratio_bicubic")}
    outs, bicubics, targets = [], [], []
    for hr in hr_images:
        hr = mod_crop(hr[None], scale)
        lr = lr_from_hr((hr * 255).round().to(torch.uint8), scale).float() / 255
        sr = upscale(model, lr)
        bicubic = imresize(lr, scale=scale).clamp(0, 1)
        for name, y in (("", sr), ("_bicubic", bicubic)):
            rows[f"psnr_y{name}"].append(float(sr_psnr(y, hr, scale)))
            rows[f"ssim_y{name}"].append(float(sr_ssim(y, hr, scale)))
            rows[f"hf_ratio{name}"].append(float(high_frequency_ratio(y, hr, scale)))
        outs.append(sr)
        bicubics.append(bicubic)
        targets.append(hr)
    m.update({k: sum(v) / len(v) for k, v in rows.items()})
    # The Laplacian-patch distance pools patches of every image: each cut to the centre region all images have.
    h, w = min(t.shape[-2] for t in targets), min(t.shape[-1] for t in targets)
    if min(h, w) >= 28 and len(targets) >= 2:
        real = torch.cat([centre(t, h, w) for t in targets])
        m.update(laplacian_fd(real, torch.cat([centre(o, h, w) for o in outs]), seed=seed))
        bicubic_fd = laplacian_fd(real, torch.cat([centre(b, h, w) for b in bicubics]), seed=seed)
        m.update({f"{k}_bicubic": v for k, v in bicubic_fd.items()})
    return m


def centre(x: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """The central h x w of (..., H, W)."""
    top, left = (x.shape[-2] - h) // 2, (x.shape[-1] - w) // 2
    return x[..., top:top + h, left:left + w]
