"""Using a model's latent space: `gankit encode` (images -> codes, and x beside its reconstruction) and
`gankit explore` (a traversal grid of one code with everything else fixed).

Encoders take images of the model's size; others are brought to it as its training data was (resized, antialiased
bilinear; or zero-padded when it trained with data.fit=pad) and converted to its channels (luma for colour into a
grayscale model), so any picture can be encoded.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .data.folder import scan_images
from .data.transforms import fit_images, pil_to_tensor, to_mode
from .errors import GankitError
from .images import grid, save_png
from .models.base import GANModel, columns, inference
from .translate import find_inputs

LUMA = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)


def _check_encoder(model: GANModel) -> None:
    if not model.encodes:
        raise GankitError(f"{model.cfg.name} has no encoder: 'gankit encode' serves bigan and infogan")


def to_model_input(model: GANModel, images: torch.Tensor) -> torch.Tensor:
    """Images in [0, 1], (N, C, H, W) with C 1 or 3 and any size -> the model's channels and size, in [-1, 1], on
    its device."""
    if images.dim() != 4 or images.shape[1] not in (1, 3):
        raise GankitError(f"images must be (N, 1 or 3, H, W) floats in [0, 1], got {tuple(images.shape)}")
    x = images.to(model.device, torch.float32)
    channels, size = model.info.img_channels, model.info.img_size
    if x.shape[1] != channels:
        x = (x * LUMA.to(x.device)).sum(1, keepdim=True) if channels == 1 else x.expand(-1, 3, -1, -1)
    x = fit_images(x, size, model.info.fit)  # as in training
    return x.clamp(0, 1) * 2 - 1


def encode_tensor(model: GANModel, images: torch.Tensor, batch_size: int = 256, reconstruct: bool = False
                  ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Codes (N, D) on the CPU, and with `reconstruct` the decoded codes as images in [0, 1] at the model's size."""
    _check_encoder(model)
    codes, recons = [], []
    with inference(model):
        for chunk in images.split(batch_size):
            c = model.encode_batch(to_model_input(model, chunk))
            codes.append(c.float().cpu())
            if reconstruct:
                recons.append(model.for_display(model.decode_batch(c)).cpu())
    return torch.cat(codes), torch.cat(recons) if reconstruct else None


def load_images(model: GANModel, paths: list[Path]) -> torch.Tensor:
    """Image files in the model's channels, each resized alone to the model's size: (N, C, S, S) in [0, 1], on the
    CPU, ready to share a batch."""
    out = []
    for path in paths:
        with Image.open(path) as img:
            t = pil_to_tensor(to_mode(img, model.info.img_channels)).float() / 255
        out.append((to_model_input(model, t[None]).cpu() + 1) / 2)
    return torch.cat(out) if out else torch.zeros(0, model.info.img_channels, model.info.img_size,
                                                  model.info.img_size)


def image_files(inputs: list[str], where: str) -> list[Path]:
    """The readable images among files, folders and globs; the others are skipped and counted on stderr."""
    files = [source for source, _ in find_inputs(inputs)]
    good, _ = scan_images(files, where)
    return [f for f, ok in zip(files, good) if ok]


def encode_files(model: GANModel, inputs: list[str], out: str | Path, reconstruct: str | Path | None = None,
                 batch_size: int = 256, progress: bool = True) -> tuple[list[Path], torch.Tensor]:
    """Encode image files (files, folders, globs) into `out`: FILE.npy (N, D) float32, rows in input order, or
    FILE.csv with a header (file, then one column per code). Returns the files encoded and their codes."""
    from tqdm import tqdm

    _check_encoder(model)
    out = Path(out)
    if out.suffix.lower() not in (".npy", ".csv"):
        raise GankitError(f"--out must end in .npy or .csv, got {out.name}")
    if reconstruct is not None and Path(reconstruct).suffix.lower() != ".png":
        raise GankitError(f"--reconstruct writes a PNG grid: give a FILE.png, got {Path(reconstruct).name}")
    files = image_files(inputs, "encode")
    codes, shown = [], []
    bar = tqdm(total=len(files), unit="img", disable=not progress, file=sys.stderr, dynamic_ncols=True)
    for start in range(0, len(files), batch_size):
        chunk = files[start:start + batch_size]
        x = load_images(model, chunk)
        room = 32 - sum(len(a) for a, _ in shown)  # the grid shows the first 32 images
        c, r = encode_tensor(model, x, batch_size, reconstruct=reconstruct is not None and room > 0)
        codes.append(c)
        if r is not None:
            shown.append((x[:room], r[:room]))
        bar.update(len(chunk))
    bar.close()
    codes_all = torch.cat(codes) if codes else torch.zeros(0, len(model.code_names()))
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".npy":
        np.save(out, codes_all.numpy().astype(np.float32))
    else:
        categorical = set(model.categorical_codes())
        with open(out, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["file", *model.code_names()])
            for path, row in zip(files, codes_all.tolist()):
                writer.writerow([str(path), *(int(v) if name in categorical else f"{v:.6g}"
                                              for name, v in zip(model.code_names(), row))])
    if reconstruct is not None and shown:
        pairs, _ = columns(torch.cat([a for a, _ in shown]), torch.cat([b for _, b in shown]))
        save_png(grid(pairs, nrow=min(16, len(pairs))), Path(reconstruct))
    return files, codes_all


def explore(model: GANModel, code: str, out: str | Path, low: float = -2.0, high: float = 2.0, steps: int = 9,
            n: int = 10, seed: int = 0) -> Path:
    """Write the traversal grid of `code` (see the model's explore_grid) to `out` (PNG)."""
    if steps < 2:
        raise GankitError("--steps must be at least 2")
    if n < 1:
        raise GankitError("--n must be at least 1")
    if not np.isfinite([low, high]).all() or low >= high:
        raise GankitError(f"--range must be two finite numbers, low < high; got {low} {high}")
    G = getattr(model, model.ema_target)
    values = torch.linspace(low, high, steps)
    with inference(model):
        images, nrow = model.explore_grid(code, values, n, model.seeded(seed), G)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_png(grid(model.for_display(images), nrow=nrow), out)
    return out
