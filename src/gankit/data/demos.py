"""Built-in translation tasks on real data, for demonstrations and benchmarks without downloads.

colorize[:DIR]     grayscale -> colour on crops of real photos (paired)
edges[:DIR]        edge map -> photo on crops of real photos (paired; edges from the photo itself)
mnist2digits[:DIR] MNIST (IDX files in DIR or $GANKIT_DATA) <-> scikit-learn's handwritten digits (unpaired):
                   two real handwriting domains, scanned pen strokes against 8x8 16-level blocky digits

The photos are scikit-learn's two sample photos, or every image in DIR (e.g. ../shared/data/sr/CBSD68). Pairs are
made on the fly from random crops, so a few photos give endless pairs. Held-out pairs never share pixels with
training ones: each photo's last quarter along its longer side is the test region (data.split=test reads it as a
fixed grid of crops, no flips), the rest is the training region.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ..config import DataConfig
from ..errors import DataError
from ..registry import DATASETS
from .folder import scan_images, visible_files
from .info import DataInfo
from .tensors import TensorImages
from .transforms import resize_shorter, to_mode

CROPS_PER_PHOTO = 100  # a nominal epoch: crops are drawn fresh for every sample anyway
LUMA = torch.tensor([0.299, 0.587, 0.114]).view(3, 1, 1)  # ITU-R 601, as Pillow's convert('L')


def _photos(arg: str, cfg: DataConfig, name: str) -> list[torch.Tensor]:
    """RGB uint8 (3, H, W) photos: DIR's images or scikit-learn's two sample photos."""
    if arg:
        root = Path(arg).expanduser()
        if not root.is_dir():
            raise DataError(f"{name}:{arg} is not a directory")
        files = visible_files(root)
        if not files:
            raise DataError(f"{name}:{arg} holds no files")
        good, _ = scan_images(files, f"{name}:{arg}")
        images = []
        for f, ok in zip(files, good):
            if ok:
                with Image.open(f) as img:
                    images.append(to_mode(img, 3))
    else:
        from sklearn.datasets import load_sample_images

        images = [Image.fromarray(a) for a in load_sample_images().images]
    if cfg.load_size:
        images = [resize_shorter(img, cfg.load_size) for img in images]
    return [torch.from_numpy(np.asarray(img, dtype=np.uint8).copy()).permute(2, 0, 1) for img in images]


def _regions(h: int, w: int) -> dict[str, tuple[int, int, int, int]]:
    """(top, left, height, width) of the train and test regions: the test region is the last quarter of the
    longer side."""
    if w >= h:
        cut = w - w // 4
        return {"train": (0, 0, h, cut), "test": (0, cut, h, w - cut), "all": (0, 0, h, w)}
    cut = h - h // 4
    return {"train": (0, 0, cut, w), "test": (cut, 0, h - cut, w), "all": (0, 0, h, w)}


def edge_map(rgb: torch.Tensor, threshold: float = 0.1) -> torch.Tensor:
    """uint8 (3, H, W) photo -> uint8 (1, H, W) line drawing: black where the Sobel gradient of the slightly
    blurred luminance exceeds `threshold` (of the largest possible gradient), white elsewhere."""
    y = (rgb.float() * LUMA).sum(0, keepdim=True)[None] / 255.0
    g = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0  # binomial blur: fewer edges from texture and noise
    y = F.conv2d(F.pad(y, (2, 2, 0, 0), mode="replicate"), g.view(1, 1, 1, 5))
    y = F.conv2d(F.pad(y, (0, 0, 2, 2), mode="replicate"), g.view(1, 1, 5, 1))
    sobel = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]) / 4.0
    padded = F.pad(y, (1, 1, 1, 1), mode="replicate")
    gx = F.conv2d(padded, sobel.view(1, 1, 3, 3))
    gy = F.conv2d(padded, sobel.t().contiguous().view(1, 1, 3, 3))
    edges = (gx.square() + gy.square()).sqrt() > threshold
    return torch.where(edges, 0, 255).to(torch.uint8)[0]


class PhotoPairs(torch.utils.data.Dataset):
    """Pairs (A = grayscale or edges, B = colour) cut from photos on the fly."""

    def __init__(self, task: str, arg: str, cfg: DataConfig):
        if cfg.channels not in (None, 3) or cfg.in_channels not in (None, 1):
            raise DataError(f"{task} pairs are 1-channel {'grayscale' if task == 'colorize' else 'edges'} and "
                            "3-channel photos: leave data.channels and data.in_channels unset")
        self.task, self.cfg = task, cfg
        self.img_size = cfg.img_size or 64
        self.split = cfg.split
        self.photos, self.boxes = [], []
        for photo in _photos(arg, cfg, task):
            top, left, h, w = _regions(*photo.shape[-2:])[self.split]
            if min(h, w) >= self.img_size:
                self.photos.append(photo)
                self.boxes.append((top, left, h, w))
        if not self.photos:
            raise DataError(f"{task}: no photo's {self.split} region holds a {self.img_size}x{self.img_size} crop; "
                            "use a smaller data.img_size")
        self.random = self.split != "test" and (cfg.crop or "random") == "random"
        self.flip = self.split != "test" and (True if cfg.flip is None else cfg.flip)
        # The test split is a fixed grid of non-overlapping crops over every photo's test region.
        s = self.img_size
        self.grid = [(p, top + r * s, left + c * s) for p, (top, left, h, w) in enumerate(self.boxes)
                     for r in range(h // s) for c in range(w // s)]
        in_ch, out_ch = 1, 3
        if cfg.direction == "BtoA":
            in_ch, out_ch = out_ch, in_ch
        self.info = DataInfo(name=task, img_size=s, img_channels=out_ch, kind="paired", in_channels=in_ch)

    def __len__(self) -> int:
        return len(self.grid) if not self.random else len(self.photos) * CROPS_PER_PHOTO

    def crop(self, index: int, seed: int) -> torch.Tensor:
        s = self.img_size
        if not self.random:
            p, top, left = self.grid[index % len(self.grid)]
            out = self.photos[p][:, top:top + s, left:left + s]
        else:
            generator = torch.Generator().manual_seed(seed)
            p = index % len(self.photos)
            top0, left0, h, w = self.boxes[p]
            top = top0 + int(torch.randint(0, h - s + 1, (1,), generator=generator))
            left = left0 + int(torch.randint(0, w - s + 1, (1,), generator=generator))
            out = self.photos[p][:, top:top + s, left:left + s]
            if self.flip and torch.rand(1, generator=generator).item() < 0.5:
                out = out.flip(-1)
        return out.contiguous()

    def __getitem__(self, item: tuple[int, int]) -> tuple[dict[str, torch.Tensor], int]:
        index, seed = item
        photo = self.crop(index, seed)
        if self.task == "colorize":
            source = (photo.float() * LUMA).sum(0, keepdim=True).round().to(torch.uint8)
        else:
            source = edge_map(photo)
        a, b = (photo, source) if self.cfg.direction == "BtoA" else (source, photo)
        return {"A": a, "B": b}, -1


@DATASETS.register("colorize")
def colorize(arg: str, cfg: DataConfig) -> PhotoPairs:
    """Grayscale -> colour pairs cut from photos (scikit-learn's two, or DIR's), 64x64 by default."""
    return PhotoPairs("colorize", arg, cfg)


@DATASETS.register("edges")
def edges(arg: str, cfg: DataConfig) -> PhotoPairs:
    """Edge map -> photo pairs cut from photos (scikit-learn's two, or DIR's), 64x64 by default."""
    return PhotoPairs("edges", arg, cfg)


class DigitDomains(torch.utils.data.Dataset):
    """Unpaired MNIST (A) and scikit-learn digits (B), both at img_size (32 by default), labels kept for
    evaluation (`labels_A`, `labels_B`) but not put in batches: CycleGAN never sees them."""

    def __init__(self, arg: str, cfg: DataConfig):
        from .builtin import DIGIT_CLASSES, _idx_dataset, digits

        if cfg.channels not in (None, 1) or cfg.in_channels not in (None, 1):
            raise DataError("mnist2digits images are grayscale: leave data.channels and data.in_channels unset")
        sub = dataclasses.replace(cfg, img_size=cfg.img_size or 32, channels=1, flip=False)
        mnist: TensorImages = _idx_dataset("mnist", "mnist", arg, sub, DIGIT_CLASSES)
        sk: TensorImages = digits("", sub)
        domains = [(mnist.images, mnist.labels), (sk.images, sk.labels)]
        if cfg.direction == "BtoA":
            domains.reverse()
        (self.images_A, self.labels_A), (self.images_B, self.labels_B) = domains
        self.info = DataInfo(name="mnist2digits", img_size=sub.img_size, img_channels=1, kind="unpaired",
                             in_channels=1, fit=sub.fit)

    def __len__(self) -> int:
        return max(len(self.images_A), len(self.images_B))

    def __getitem__(self, item: tuple[int, int]) -> tuple[dict[str, torch.Tensor], int]:
        index, seed = item
        i_B = int(torch.randint(len(self.images_B), (1,), generator=torch.Generator().manual_seed(seed)))
        return {"A": self.images_A[index % len(self.images_A)], "B": self.images_B[i_B]}, -1


@DATASETS.register("mnist2digits")
def mnist2digits(arg: str, cfg: DataConfig) -> DigitDomains:
    """MNIST <-> scikit-learn digits, unpaired (CycleGAN); MNIST's IDX files from DIR or $GANKIT_DATA."""
    return DigitDomains(arg, cfg)
