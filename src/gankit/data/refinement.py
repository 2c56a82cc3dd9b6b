"""Refinement data (SimGAN): labelled synthetic images (data.spec) and unlabelled real ones (data.real).

Batches hold "x" (synthetic, in [-1, 1]), "label" (the synthetic images' labels, when they have them) and "real": as
many real images, drawn independently with replacement. The real set is read without its labels: a real label
never reaches a model, whatever the real set's files hold. Both sets are held in memory as uint8 (refinement data
is small images: MNIST's 10,000 real images are 7.8 MB).
"""

from __future__ import annotations

import dataclasses

import torch

from ..config import DataConfig
from ..errors import DataError
from .info import Batch, DataInfo
from .tensors import TensorImages
from .transforms import to_device


def in_memory(dataset, labels: bool) -> TensorImages:
    """Any image dataset as a TensorImages (a folder is decoded once, item i with augmentation seed i)."""
    if isinstance(dataset, TensorImages):
        if labels or dataset.labels is None:
            return dataset
        return TensorImages(dataset.info.name, dataset.images, None, dataset.info.img_size,
                            dataset.info.img_channels, "resize", dataset.flip, [])
    if not hasattr(dataset, "files"):
        raise DataError(f"{dataset.info.name} cannot be one side of refinement data (images or class folders only)")
    from .stream import collate

    with torch.random.fork_rng():
        images, y = collate([dataset[(i, i)] for i in range(len(dataset))])
    info = dataset.info
    keep = labels and info.num_classes > 0
    return TensorImages(info.name, images, y if keep else None, info.img_size, info.img_channels, "resize", False,
                        info.class_names if keep else [])


class RefinementData:
    """Synthetic images with their labels beside unlabelled real images of the same size and channels."""

    def __init__(self, synthetic: TensorImages, real: TensorImages, real_name: str):
        if real.labels is not None:
            raise DataError("refinement data: the real images must come without labels")
        self.synthetic, self.real = synthetic, real
        self.info = dataclasses.replace(synthetic.info, kind="refine")
        self.real_name = real_name

    def __len__(self) -> int:
        return len(self.synthetic)

    def to(self, device: torch.device) -> RefinementData:
        self.synthetic.to(device)
        self.real.to(device)
        return self

    def batch(self, indices: torch.Tensor, generator: torch.Generator) -> Batch:
        out = self.synthetic.batch(indices, generator)
        pick = to_device(torch.randint(len(self.real), (len(indices),), generator=generator), self.real.images.device)
        out["real"] = self.real.batch(pick, generator)["x"]
        return out


def refinement_data(cfg: DataConfig, load) -> RefinementData:
    """`load(cfg)` builds a dataset from a config (data.load_dataset, passed in to keep imports one-way)."""
    synthetic = in_memory(load(dataclasses.replace(cfg, real="")), labels=True)
    info: DataInfo = synthetic.info
    if not info.is_image:
        raise DataError(f"refinement data are images; {info.name} is not")
    real_cfg = dataclasses.replace(cfg, spec=cfg.real, real="", img_size=info.img_size, channels=info.img_channels,
                                   exclude_classes=[], labels_per_class=0)
    real = in_memory(load(real_cfg), labels=False)
    return RefinementData(synthetic, real, cfg.real)
