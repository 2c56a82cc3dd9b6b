"""Datasets by spec (`digits`, `mnist[:DIR]`, `fashion-mnist[:DIR]`, `folder:DIR`) and the batch stream."""

from __future__ import annotations

import dataclasses

from ..config import DataConfig
from ..errors import DataError
from ..registry import DATASETS
from . import attributes, builtin, demos, folder, fontdigits, mixtures, pairs, sr  # noqa: F401  (registers the datasets)
from .folder import ImageFolder
from .info import Batch, DataInfo
from .stream import BatchStream, read_batch
from .tensors import TensorImages


def load_dataset(cfg: DataConfig) -> TensorImages | ImageFolder:
    name, _, arg = cfg.spec.partition(":")
    if cfg.real:  # refinement: synthetic images and unlabelled real ones
        from .refinement import refinement_data

        return refinement_data(cfg, load_dataset)
    if cfg.second:  # two labelled datasets (StarGAN's mask vector)
        from .attributes import JointDatasets, multi_domain

        first = multi_domain(load_dataset(dataclasses.replace(cfg, second="")))
        # data.attrs picks from the first dataset's table; the second brings all of its labels.
        second = multi_domain(load_dataset(dataclasses.replace(cfg, spec=cfg.second, second="", attrs=[])))
        return JointDatasets([first, second])
    dataset = DATASETS.get(name)(arg, cfg)
    if (cfg.exclude_classes or cfg.labels_per_class) and not isinstance(dataset, (TensorImages, ImageFolder)):
        raise DataError(f"data.exclude_classes and data.labels_per_class apply to labelled image sets (digits, "
                        f"mnist, fashion-mnist, class folders), not to {name}")
    return dataset


__all__ = ["Batch", "BatchStream", "DataInfo", "ImageFolder", "TensorImages", "load_dataset", "read_batch"]
