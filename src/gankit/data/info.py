"""What a model knows of its data (saved with every model, so it can be rebuilt alone) and the batch type."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch

# "x": (N, C, H, W) images in [-1, 1], or (N, D) vectors; "label": (N,) int64 when the data has labels
Batch = dict[str, torch.Tensor]


@dataclass
class DataInfo:
    """What a model needs to know about its data; saved with every model so it can be rebuilt alone."""

    name: str
    img_size: int  # 0 for vector data
    img_channels: int  # 0 for vector data
    num_classes: int = 0
    class_names: list[str] = dataclasses.field(default_factory=list)
    dim: int = 0  # vector data (e.g. 2-D mixtures): the dimension; 0 for images
    # Translation data (batches hold "A" and "B"): "paired" or "unpaired", and the input domain's channels
    # (img_channels is then the output domain's). Empty / 0 for everything else.
    kind: str = ""
    in_channels: int = 0
    # How smaller images were brought to img_size in training ("resize", "pad" or "box", data.fit): encode, score and
    # classify bring new images to the model's size the same way.
    fit: str = "resize"
    # Multi-domain data (StarGAN): the name of each label, groups of mutually exclusive labels (index lists; the
    # others are binary attributes), and how many labels each dataset brings (two datasets: a mask vector).
    attrs: list[str] = dataclasses.field(default_factory=list)
    attr_groups: list[list[int]] = dataclasses.field(default_factory=list)
    label_sets: list[int] = dataclasses.field(default_factory=list)
    # Super-resolution data (kind "sr"): how many times larger the target ("B") is than the input ("A").
    scale: int = 0

    @property
    def is_image(self) -> bool:
        return self.dim == 0

    @property
    def label_names(self) -> list[str]:
        """The classes' names: as the data gave them, else their numbers."""
        return list(self.class_names) or [str(k) for k in range(self.num_classes)]

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DataInfo:
        return cls(**{f.name: d[f.name] for f in dataclasses.fields(cls) if f.name in d})
