"""Fully connected networks for vector data (the 2-D mixtures) and the original GAN's MLPs."""

from __future__ import annotations

import torch
from torch import nn


class MLPGenerator(nn.Module):
    """z -> x through `depth` hidden ReLU layers of `width` units with batch norm; linear output (vectors are
    unbounded, unlike tanh images)."""

    def __init__(self, z_dim: int, out_dim: int, width: int, depth: int, in_extra: int = 0):
        super().__init__()
        layers: list[nn.Module] = []
        d = z_dim + in_extra
        for _ in range(depth):
            layers += [nn.Linear(d, width), nn.BatchNorm1d(width), nn.ReLU(inplace=True)]
            d = width
        layers.append(nn.Linear(d, out_dim))
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class MLPDiscriminator(nn.Module):
    """x -> one logit through `depth` hidden LeakyReLU(0.2) layers of `width` units, no normalisation (so it
    also serves as a WGAN-GP critic, whose penalty is per sample)."""

    def __init__(self, in_dim: int, width: int, depth: int, leak: float = 0.2):
        super().__init__()
        layers: list[nn.Module] = []
        d = in_dim
        for _ in range(depth):
            layers += [nn.Linear(d, width), nn.LeakyReLU(leak, inplace=True)]
            d = width
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(d, 1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x)).flatten()
