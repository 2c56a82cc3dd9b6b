"""A dataset held as one uint8 tensor: the small built-in sets, indexed a whole batch at a time."""

from __future__ import annotations

import torch

from ..errors import DataError
from .info import Batch, DataInfo
from .transforms import fit_uint8, to_device, uint8_to_unit

# The labelled subset of a semi-supervised set is part of the data's definition, not of a run: one fixed seed.
LABELLED_SUBSET_SEED = 0


class TensorImages:
    """`exclude_classes` drops whole classes; `labels_per_class` > 0 keeps the labels of that many images per class
    (a fixed, seeded choice): batches then hold every image unlabelled as "x", and a labelled batch of the same
    size drawn with replacement from the labelled images as "x_l" / "label_l"."""

    def __init__(self, name: str, images: torch.Tensor, labels: torch.Tensor | None, img_size: int,
                 channels: int, fit: str, flip: bool, class_names: list[str], exclude_classes: list[int] = (),
                 labels_per_class: int = 0):
        if (exclude_classes or labels_per_class) and labels is None:
            raise DataError(f"{name} has no labels: data.exclude_classes and data.labels_per_class need them")
        if exclude_classes:
            bad = [c for c in exclude_classes if c >= len(class_names)]
            if bad:
                raise DataError(f"data.exclude_classes: {name} has classes 0..{len(class_names) - 1}, got {bad}")
            keep = ~torch.isin(labels, torch.tensor(list(exclude_classes)))
            images, labels = images[keep], labels[keep]
        if len(images) == 0:
            raise DataError(f"{name} holds no images")
        self.labelled = None
        if labels_per_class:
            order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(LABELLED_SUBSET_SEED))
            present = labels.unique().tolist()
            chosen = [order[labels[order] == k][:labels_per_class] for k in present]
            short = [k for k, c in zip(present, chosen) if len(c) < labels_per_class]
            if short:
                raise DataError(f"data.labels_per_class={labels_per_class}: {name} has fewer images of class "
                                f"{short[0]}")
            self.labelled = torch.cat(chosen).sort().values
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
                             class_names=list(class_names) if labels is not None else [], fit=fit)

    def __len__(self) -> int:
        return len(self.images)

    def to(self, device: torch.device) -> TensorImages:
        """Keep the whole set on the training device: a batch is then one gather, no host round trip."""
        self.images = self.images.to(device)
        if self.labels is not None:
            self.labels = self.labels.to(device)
        if self.labelled is not None:
            self.labelled = self.labelled.to(device)
        return self

    def batch(self, indices: torch.Tensor, generator: torch.Generator) -> Batch:
        indices = to_device(indices, self.images.device)
        out = {"x": self._images(indices, generator)}
        if self.labelled is not None:  # semi-supervised: no label leaks into "x"'s batch
            pick = to_device(torch.randint(len(self.labelled), (len(indices),), generator=generator), indices.device)
            chosen = self.labelled[pick]
            out["x_l"], out["label_l"] = self._images(chosen, generator), self.labels[chosen]
        elif self.labels is not None:
            out["label"] = self.labels[indices]
        return out

    def _images(self, indices: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        x = uint8_to_unit(self.images[indices])
        if self.flip:
            mask = torch.rand(len(indices), generator=generator) < 0.5
            x = torch.where(to_device(mask, x.device).view(-1, 1, 1, 1), x.flip(-1), x)
        return x
