"""Super-resolution data: high-resolution photos, with the low-resolution input made from each crop on the fly.

sr:DIR            every image in DIR (or DIR/train for data.split=train and DIR/test for test, when present)
cbsd68[:DIR]      the colour photos of ../shared/data/sr: CBSD68 to train, CSet5 to test (DIR holds both folders;
                  default $GANKIT_DATA/sr)
bsd68[:DIR]       the same in grey: BSD68 to train, Set5 to test

A sample is a random data.img_size crop of a high-resolution image (a multiple of the scale), flipped and rotated
by a random multiple of 90 degrees (data.flip), as "B", and its MATLAB-style bicubic downscaling by data.sr_scale,
rounded to 8 bits as a real low-resolution image is, as "A". Every file is decoded once before training; unreadable
ones are skipped and counted.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch
from PIL import Image

from ..config import DataConfig
from ..errors import DataError
from ..nn.resize import imresize
from ..registry import DATASETS
from .folder import SkipsLateFailures, guess_channels, scan_images, visible_files
from .info import DataInfo
from .transforms import pil_to_tensor, to_mode

DEFAULT_CROP = 128  # the paper's 128x128 high-resolution patches (32x32 inputs at x4)


def lr_from_hr(hr: torch.Tensor, scale: int) -> torch.Tensor:
    """uint8 (..., C, H, W) -> its bicubic (MATLAB's, antialiased) downscaling by `scale`, rounded to uint8."""
    x = hr.float().reshape(-1, *hr.shape[-3:]) / 255
    lr = imresize(x, scale=1 / scale)
    return (lr * 255).round().clamp(0, 255).to(torch.uint8).reshape(*hr.shape[:-2], *lr.shape[-2:])


class SRFolder(SkipsLateFailures, torch.utils.data.Dataset):
    """High-resolution images of a folder, sampled as (low-resolution input "A", high-resolution target "B")."""

    def __init__(self, spec: str, folder: Path, cfg: DataConfig):
        if not folder.is_dir():
            raise DataError(f"{spec}: {folder} is not a directory")
        files = visible_files(folder)
        good, _ = scan_images(files, spec)
        self.spec, self.cfg, self.scale = spec, cfg, cfg.sr_scale
        self.img_size = cfg.img_size or DEFAULT_CROP
        readable = [str(f) for f, ok in zip(files, good) if ok]
        self.files = [f for f in readable if min(_size(f)) >= self.img_size]
        if len(self.files) < len(readable):
            print(f"gankit: {spec}: skipped {len(readable) - len(self.files)} of {len(readable)} images smaller than "
                  f"the {self.img_size}x{self.img_size} crop (data.img_size)", file=sys.stderr)
        if not self.files:
            raise DataError(f"{spec}: no image is at least {self.img_size}x{self.img_size} (the crop, data.img_size)")
        if self.img_size % self.scale:
            raise DataError(f"{spec}: data.img_size={self.img_size} (the high-resolution crop) must be a multiple of "
                            f"data.sr_scale={self.scale}")
        self.channels = cfg.channels or guess_channels(self.files)
        self.flip = cfg.flip is not False
        self.info = DataInfo(name=spec.split(":")[0], img_size=self.img_size, img_channels=self.channels,
                             kind="sr", in_channels=self.channels, scale=self.scale)

    def __len__(self) -> int:
        return len(self.files)

    def load(self, index: int, seed: int) -> dict[str, torch.Tensor]:
        with Image.open(self.files[index]) as img:
            hr = pil_to_tensor(to_mode(img, self.channels))
        g = torch.Generator().manual_seed(seed)
        h, w = hr.shape[-2:]
        s = self.img_size
        top = int(torch.randint(0, h - s + 1, (1,), generator=g))
        left = int(torch.randint(0, w - s + 1, (1,), generator=g))
        hr = hr[:, top:top + s, left:left + s]
        if self.flip:  # one of the 8 symmetries of the square
            k, mirror = int(torch.randint(0, 4, (1,), generator=g)), bool(torch.randint(0, 2, (1,), generator=g))
            hr = torch.rot90(hr.flip(-1) if mirror else hr, k, (-2, -1))
        return {"A": lr_from_hr(hr.contiguous(), self.scale), "B": hr.contiguous()}

    def __getitem__(self, item: tuple[int, int]) -> tuple[dict[str, torch.Tensor], int]:
        index, seed = item
        return self.first_readable(index, len(self), lambda i: (self.load(i, seed), -1),
                                   lambda i: f"image {i} of {self.spec}", self.spec)


def _size(path: str) -> tuple[int, int]:
    with Image.open(path) as img:
        return img.size


def _split_folder(root: Path, split: str) -> Path:
    return root / split if split != "all" and (root / split).is_dir() else root


@DATASETS.register("sr")
def sr(arg: str, cfg: DataConfig) -> SRFolder:
    """high-resolution photos in DIR (x4 super-resolution: inputs made on the fly)"""
    if not arg:
        raise DataError("sr needs a folder: --data sr:DIR")
    root = Path(arg).expanduser()
    return SRFolder(f"sr:{arg}", _split_folder(root, cfg.split), cfg)


def _photos(name: str, train: str, test: str, arg: str, cfg: DataConfig) -> SRFolder:
    root = Path(arg).expanduser() if arg else (Path(os.environ["GANKIT_DATA"]).expanduser() / "sr"
                                                if os.environ.get("GANKIT_DATA") else None)
    if root is None or not (root / train).is_dir():
        raise DataError(f"{name} needs the folder holding {train}/ and {test}/: --data {name}:DIR or "
                        "GANKIT_DATA=DIR with DIR/sr (e.g. ../shared/data/sr)")
    return SRFolder(f"{name}:{arg}" if arg else name, root / (test if cfg.split == "test" else train), cfg)


@DATASETS.register("cbsd68")
def cbsd68(arg: str, cfg: DataConfig) -> SRFolder:
    """68 colour photos to train super-resolution (CBSD68), CSet5 to test"""
    return _photos("cbsd68", "CBSD68", "CSet5", arg, cfg)


@DATASETS.register("bsd68")
def bsd68(arg: str, cfg: DataConfig) -> SRFolder:
    """the same photos in grey (BSD68), Set5 to test"""
    return _photos("bsd68", "BSD68", "Set5", arg, cfg)
