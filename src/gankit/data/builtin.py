"""Built-in datasets: scikit-learn's digits (always available), MNIST and Fashion-MNIST from IDX files."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import torch

from ..config import DataConfig
from ..errors import DataError
from ..registry import DATASETS
from .idx import read_idx
from .tensors import TensorImages
from .transforms import to_device, uint8_to_unit

FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot"]
DIGIT_CLASSES = [str(i) for i in range(10)]


def _tensor_set(name: str, images: np.ndarray, labels: np.ndarray | None, cfg: DataConfig,
                class_names: list[str], default_size: int = 32) -> TensorImages:
    images = torch.from_numpy(np.ascontiguousarray(images, dtype=np.uint8))
    if images.ndim == 3:
        images = images[:, None]
    return TensorImages(
        name=name,
        images=images,
        labels=None if labels is None else torch.from_numpy(labels.astype(np.int64)),
        img_size=cfg.img_size or default_size,
        channels=cfg.channels or images.shape[1],
        fit=cfg.fit,
        flip=bool(cfg.flip),
        class_names=class_names,
        exclude_classes=cfg.exclude_classes,
        labels_per_class=cfg.labels_per_class,
    )


@DATASETS.register("digits")
def digits(arg: str, cfg: DataConfig) -> TensorImages:
    """scikit-learn's 1,797 handwritten digits (UCI), 8x8 with 17 grey levels, resized to 32x32 by default."""
    if arg:
        raise DataError("'digits' takes no directory: it ships inside scikit-learn")
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = np.rint(bunch.images * (255.0 / 16.0))
    # The split is seeded and fixed so 'train' and 'test' never overlap: the last 297 images are the test set.
    split = {"train": slice(0, 1500), "test": slice(1500, None), "all": slice(None)}[cfg.split]
    return _tensor_set("digits", images[split], bunch.target[split], cfg, DIGIT_CLASSES)


IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _find_idx(dirs: list[Path], stem: str) -> Path | None:
    """The standard file name, gzipped or not; for the training set also a prefixed subset such as
    'train10k-images-idx3-ubyte.gz' (the first 10,000 training images)."""
    kind = stem.split("-", 1)[1]  # images-idx3-ubyte
    prefix = stem.split("-", 1)[0]
    for d in dirs:
        for name in (stem + ".gz", stem):
            if (d / name).is_file():
                return d / name
        if prefix == "train":
            found = sorted(d.glob(f"train*-{kind}.gz")) + sorted(d.glob(f"train*-{kind}"))
            if found:
                return found[0]
    return None


def _idx_dataset(name: str, subdir: str, arg: str, cfg: DataConfig, class_names: list[str]) -> TensorImages:
    if arg:
        roots = [Path(arg).expanduser()]
    elif os.environ.get("GANKIT_DATA"):
        roots = [Path(os.environ["GANKIT_DATA"]).expanduser()]
    else:
        raise DataError(
            f"{name} needs its IDX files: --data {name}:DIR or GANKIT_DATA=DIR, where DIR (or DIR/{subdir}) holds "
            f"{', '.join(s + '.gz' for pair in IDX_FILES.values() for s in pair)}"
        )
    dirs = [d for r in roots for d in (r, r / subdir, r / name)]
    splits = ["train", "test"] if cfg.split == "all" else [cfg.split]
    images, labels = [], []
    for split in splits:
        paths = [_find_idx(dirs, stem) for stem in IDX_FILES[split]]
        if None in paths:
            missing = [s + ".gz" for s, p in zip(IDX_FILES[split], paths) if p is None]
            raise DataError(
                f"{name} {split} set not found: expected {' and '.join(missing)} in "
                f"{' or '.join(str(d) for d in dirs[:2])}"
            )
        x, y = read_idx(paths[0]), read_idx(paths[1])
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise DataError(f"{paths[0]} and {paths[1]} do not hold matching images and labels")
        if len(y) and (int(y.min()) < 0 or int(y.max()) >= len(class_names)):
            raise DataError(f"{paths[1]} holds labels outside 0..{len(class_names) - 1} "
                            f"({int(y.min())}..{int(y.max())})")
        images.append(x)
        labels.append(y)
    return _tensor_set(name, np.concatenate(images), np.concatenate(labels), cfg, class_names)


@DATASETS.register("mnist")
def mnist(arg: str, cfg: DataConfig) -> TensorImages:
    """MNIST handwritten digits (LeCun et al. 1998), 28x28, from the standard IDX files."""
    return _idx_dataset("mnist", "mnist", arg, cfg, DIGIT_CLASSES)


@DATASETS.register("fashion-mnist")
def fashion_mnist(arg: str, cfg: DataConfig) -> TensorImages:
    """Fashion-MNIST (Xiao et al. 2017), 28x28 clothing photos in ten classes, from the IDX files."""
    return _idx_dataset("fashion-mnist", "fashion_mnist", arg, cfg, FASHION_CLASSES)


class StackedDigits:
    """Three digits from one set stacked as the R, G and B channels: label 100*r + 10*g + b, 1,000 modes.
    The triples are a fixed, seeded sample (part of the dataset's definition, not of a run's seed)."""

    def __init__(self, base: TensorImages, n: int = 60_000):
        g = torch.Generator().manual_seed(1000)
        self.base = base
        self.triples = torch.randint(len(base), (n, 3), generator=g)
        digits = base.labels[self.triples]
        self.labels = digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2]
        self.info = dataclasses.replace(base.info, name="stacked-mnist", img_channels=3, num_classes=1000,
                                        class_names=[f"{i:03d}" for i in range(1000)])

    def __len__(self) -> int:
        return len(self.triples)

    def to(self, device: torch.device) -> StackedDigits:
        self.base.to(device)
        self.triples, self.labels = self.triples.to(device), self.labels.to(device)
        return self

    def batch(self, indices: torch.Tensor, generator: torch.Generator) -> dict[str, torch.Tensor]:
        indices = to_device(indices, self.triples.device)
        triples = self.triples[indices]  # (B, 3) indices into the base set
        x = self.base.images[triples.flatten()].view(len(indices), 3, *self.base.images.shape[-2:])
        return {"x": uint8_to_unit(x), "label": self.labels[indices]}


@DATASETS.register("stacked-mnist")
def stacked_mnist(arg: str, cfg: DataConfig) -> StackedDigits:
    """Stacked MNIST (Metz et al. 2017): three MNIST digits as R, G, B channels, 1,000 modes; from IDX files."""
    if cfg.channels not in (None, 3):
        raise DataError("stacked-mnist images have 3 channels (one digit each)")
    base = _idx_dataset("mnist", "mnist", arg, dataclasses.replace(cfg, channels=1, flip=False), DIGIT_CLASSES)
    return StackedDigits(base)
