"""A dataset held as one uint8 tensor: the small built-in sets, indexed a whole batch at a time."""

from __future__ import annotations

import torch

from ..errors import DataError
from ..models.base import Batch, DataInfo
from .transforms import fit_uint8, uint8_to_unit


class TensorImages:
    def __init__(self, name: str, images: torch.Tensor, labels: torch.Tensor | None, img_size: int,
                 channels: int, fit: str, flip: bool, class_names: list[str]):
        if len(images) == 0:
            raise DataError(f"{name} holds no images")
        images = fit_uint8(images, img_size, fit)
        if channels != images.shape[1]:
            if images.shape[1] == 1:
                images = images.expand(-1, channels, -1, -1).contiguous()
            else:  # ITU-R 601 luma, as Pillow's convert('L')
                weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
                images = (images.float() * weights).sum(1, keepdim=True).round().to(torch.uint8)
        self.images = images
        self.labels = labels
        self.flip = flip
        self.info = DataInfo(name=name, img_size=img_size, img_channels=channels,
                             num_classes=len(class_names) if labels is not None else 0,
                             class_names=list(class_names) if labels is not None else [])

    def __len__(self) -> int:
        return len(self.images)

    def to(self, device: torch.device) -> TensorImages:
        """Keep the whole set on the training device: a batch is then one gather, no host round trip."""
        self.images = self.images.to(device)
        if self.labels is not None:
            self.labels = self.labels.to(device)
        return self

    def batch(self, indices: torch.Tensor, generator: torch.Generator) -> Batch:
        indices = indices.to(self.images.device)
        x = uint8_to_unit(self.images[indices])
        if self.flip:
            mask = torch.rand(len(indices), generator=generator) < 0.5
            x = torch.where(mask.to(x.device).view(-1, 1, 1, 1), x.flip(-1), x)
        out = {"x": x}
        if self.labels is not None:
            out["label"] = self.labels[indices]
        return out
