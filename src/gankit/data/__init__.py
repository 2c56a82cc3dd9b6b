"""Datasets by spec (`digits`, `mnist[:DIR]`, `fashion-mnist[:DIR]`, `folder:DIR`) and the batch stream."""

from __future__ import annotations

from ..config import DataConfig
from ..errors import DataError
from ..registry import DATASETS
from . import builtin, demos, folder, mixtures, pairs  # noqa: F401  (registers the datasets)
from .folder import ImageFolder
from .stream import BatchStream
from .tensors import TensorImages


def load_dataset(cfg: DataConfig) -> TensorImages | ImageFolder:
    name, _, arg = cfg.spec.partition(":")
    dataset = DATASETS.get(name)(arg, cfg)
    if (cfg.exclude_classes or cfg.labels_per_class) and not isinstance(dataset, (TensorImages, ImageFolder)):
        raise DataError(f"data.exclude_classes and data.labels_per_class apply to labelled image sets (digits, "
                        f"mnist, fashion-mnist, class folders), not to {name}")
    return dataset


__all__ = ["BatchStream", "ImageFolder", "TensorImages", "load_dataset"]
