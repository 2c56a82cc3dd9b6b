"""Built-in datasets: scikit-learn's digits (always available), MNIST and Fashion-MNIST from IDX files."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from ..config import DataConfig
from ..errors import DataError
from ..registry import DATASETS
from .idx import read_idx
from .tensors import TensorImages

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
        flip=cfg.flip,
        class_names=class_names,
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


def describe(name: str) -> str:
    return (DATASETS.get(name).__doc__ or "").strip().splitlines()[0]
