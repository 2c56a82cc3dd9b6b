"""Datasets by spec (`digits`, `mnist[:DIR]`, `fashion-mnist[:DIR]`, `folder:DIR`) and the batch stream."""

from __future__ import annotations

from ..config import DataConfig
from ..registry import DATASETS
from . import builtin, demos, folder, mixtures, pairs  # noqa: F401  (registers the datasets)
from .folder import ImageFolder
from .stream import BatchStream
from .tensors import TensorImages


def load_dataset(cfg: DataConfig) -> TensorImages | ImageFolder:
    name, _, arg = cfg.spec.partition(":")
    return DATASETS.get(name)(arg, cfg)


__all__ = ["BatchStream", "ImageFolder", "TensorImages", "load_dataset"]
