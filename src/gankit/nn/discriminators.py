"""Discriminators shared by several systems."""

from __future__ import annotations

import torch
from torch import nn

from .generators import pyramid_depth


class DCGANDiscriminator(nn.Module):
    """image -> one logit through stride-2 convolutions (Radford et al. 2016).

    LeakyReLU(0.2) everywhere, batch norm on every layer but the first (the paper leaves the input layer
    unnormalised), and a final 4x4 valid convolution to a single logit; no sigmoid, losses take logits.
    `features(x)` exposes the last hidden map, which feature-matching scorers (e.g. AnoGAN) compare.
    """

    def __init__(self, img_size: int, img_channels: int, base_channels: int, leak: float = 0.2,
                 norm: bool = True):
        super().__init__()
        depth = pyramid_depth(img_size, "the DCGAN discriminator")
        width = base_channels
        layers: list[nn.Module] = [nn.Conv2d(img_channels, width, 4, 2, 1, bias=False),
                                   nn.LeakyReLU(leak, inplace=True)]
        for _ in range(depth - 1):
            layers += [nn.Conv2d(width, width * 2, 4, 2, 1, bias=not norm)]
            if norm:
                layers += [nn.BatchNorm2d(width * 2)]
            layers += [nn.LeakyReLU(leak, inplace=True)]
            width *= 2
        self.body = nn.Sequential(*layers)
        self.head = nn.Conv2d(width, 1, 4, 1, 0, bias=False)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x)).flatten()
