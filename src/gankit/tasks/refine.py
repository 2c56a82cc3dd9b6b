"""`gankit refine`: synthetic images made to look real by a SimGAN refiner, on tensors and on files, and its
evaluation.

Files: each image is refined at its own size (the refiner is fully convolutional; large images go through in tiles,
nn/tiling.py) and written under its own name; the layout below an input folder is kept, and label files found
there (.csv, .tsv, .txt, .json) are copied beside the images, so a refined class folder or labelled set trains a
classifier as the synthetic one would.

Evaluation, on the synthetic set's held-out split: the mean |R(x) - x| (in [0, 1] units: 0 is a refiner that
changes nothing), and, when the real images have labels (used for this measurement only, never in training), the
real-data classifier's view: the share of refined images it still reads as their synthetic label, and the
Fréchet distance of refined and of raw synthetic images to the real ones in its features.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch
from PIL import Image
from torch import nn

from ..data.transforms import pil_to_tensor, to_mode
from ..errors import GankitError
from ..nn import inference
from ..nn.tiling import run_tiled
from ..outputs import check_folder, write_atomically
from . import require
from .files import LUMA, check_model_images, collect_inputs, image_files, input_bytes, save_image, writing_into

LABEL_FILES = {".csv", ".tsv", ".txt", ".json"}


@runtime_checkable
class Refiner(Protocol):
    """A system that refines images: the network from images in [-1, 1] to refined ones of the same size."""

    def refiner(self) -> nn.Module: ...


def refine(model, images: torch.Tensor, tile: int = 256, overlap: int | None = None) -> torch.Tensor:
    """Images in [0, 1], (N, C, H, W) with the model's channels, any size -> refined images in [0, 1], on the CPU."""
    require(model, "refine")
    net = model.refiner()
    check_model_images(model, images)
    with inference(net):
        out = run_tiled(net, images.to(model.device, torch.float32) * 2 - 1, 1, tile, overlap)
    return ((out.cpu() + 1) / 2).clamp_(0, 1)


def refine_files(model, inputs: list[str], out_dir: str | Path, batch_size: int = 256, tile: int = 256,
                 progress: bool = True) -> tuple[list[Path], list[Path]]:
    """Refine image files into out_dir (names and layout kept, format kept where Pillow writes it) and copy the
    label files found beside them; returns (images written, label files copied). Unreadable files are skipped and
    counted on stderr."""
    from tqdm import tqdm

    require(model, "refine")
    out_dir = check_folder(out_dir)
    pairs = collect_inputs(inputs, out_dir)
    check_folder(out_dir, need_bytes=input_bytes(pairs))
    labels = [(s, t.with_suffix(s.suffix)) for s, t in pairs if s.suffix.lower() in LABEL_FILES]
    pairs = [(s, t) for s, t in pairs if s.suffix.lower() not in LABEL_FILES]
    readable = set(image_files([str(source) for source, _ in pairs], "refine")) if pairs else set()
    pairs = [(source, target) for source, target in pairs if source in readable]
    if not pairs:
        raise GankitError("no readable image among the inputs")
    written: list[Path] = []
    bar = tqdm(total=len(pairs), unit="img", disable=not progress, file=sys.stderr, dynamic_ncols=True)
    with writing_into(out_dir, written, len(pairs)):
        _refine_all(model, pairs, batch_size, tile, written, bar)
        for source, target in labels:
            write_atomically(target, lambda tmp, source=source: shutil.copyfile(source, tmp))
    bar.close()
    return written, [t for _, t in labels]


def _refine_all(model, pairs: list[tuple[Path, Path]], batch_size: int, tile: int, written: list[Path], bar) -> None:
    channels = model.info.img_channels
    for start in range(0, len(pairs), batch_size):
        chunk = pairs[start:start + batch_size]
        images, grey = [], []
        for source, _ in chunk:
            with Image.open(source) as img:
                grey.append(img.mode in ("1", "L", "LA", "I", "I;16", "F"))
                images.append(pil_to_tensor(to_mode(img, channels)).float() / 255)
        # Images of one size go through together; others alone.
        by_size: dict[tuple[int, int], list[int]] = {}
        for i, x in enumerate(images):
            by_size.setdefault(tuple(x.shape[-2:]), []).append(i)
        for members in by_size.values():
            y = refine(model, torch.stack([images[i] for i in members]), tile)
            for i, out in zip(members, y):
                if grey[i] and out.shape[0] == 3:  # a grey input stays grey
                    out = (out[None] * LUMA).sum(1)
                save_image(out, chunk[i][1])
                written.append(chunk[i][1])
        bar.update(len(chunk))


# ---------------------------------------------------------------------------------------- evaluation


def evaluate(model, x: torch.Tensor, labels: np.ndarray | None, reference=None) -> dict[str, Any]:
    """The numbers above for synthetic images `x` in [-1, 1] with their `labels`; `reference`: the real images'
    metrics.reference.Reference, or None when they have no labels."""
    from ..metrics.frechet import frechet_distance, gaussian_stats

    refined = torch.cat([refine(model, (part + 1) / 2) for part in x.cpu().split(500)]) * 2 - 1
    m: dict[str, Any] = {"images": len(x), "mean_change": float((refined - x.cpu()).abs().mean() / 2)}
    if reference is not None:
        feats_r, pred_r = reference.classify(refined)
        feats_s, pred_s = reference.classify(x.cpu())
        if labels is not None:
            m["label_kept"] = float((pred_r == labels).mean())
            m["label_read_synthetic"] = float((pred_s == labels).mean())
        m["fd_refined"] = frechet_distance(*gaussian_stats(feats_r), *reference.real_stats)
        m["fd_synthetic"] = frechet_distance(*gaussian_stats(feats_s), *reference.real_stats)
    return m
