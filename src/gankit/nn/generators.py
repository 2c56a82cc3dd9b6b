"""Generators shared by several systems."""

from __future__ import annotations

import math

import torch
from torch import nn

from ..errors import ConfigError


def pyramid_depth(img_size: int, who: str) -> int:
    """Number of stride-2 stages between a 4x4 map and `img_size` (which must be a power of two >= 8)."""
    depth = math.log2(img_size / 4) if img_size >= 8 else 0
    if img_size < 8 or depth != int(depth):
        sizes = ", ".join(str(4 * 2**k) for k in range(1, 6))
        raise ConfigError(
            f"{who} needs data.img_size to be a power of two >= 8 ({sizes}, ...), got {img_size}; "
            "28x28 images: --set data.img_size=32 (resized) or also data.fit=pad"
        )
    return int(depth)


class DCGANGenerator(nn.Module):
    """z -> image through transposed convolutions (Radford et al. 2016, figure 1).

    A 4x4 projection of z with `base_channels * 2**(depth-1)` maps, then stride-2 transposed convs that halve
    the width and double the size, each with batch norm and ReLU, and a final one to `img_channels` with tanh.
    For 64x64 with base_channels=128 this is the paper's 1024-512-256-128 stack.
    """

    def __init__(self, z_dim: int, img_size: int, img_channels: int, base_channels: int, in_extra: int = 0):
        super().__init__()
        depth = pyramid_depth(img_size, "the DCGAN generator")
        self.z_dim = z_dim
        width = base_channels * 2 ** (depth - 1)
        layers: list[nn.Module] = [
            # Biases are dropped before batch norm: its shift makes them redundant.
            nn.ConvTranspose2d(z_dim + in_extra, width, 4, 1, 0, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
        ]
        for _ in range(depth - 1):
            layers += [
                nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(width // 2),
                nn.ReLU(inplace=True),
            ]
            width //= 2
        layers += [nn.ConvTranspose2d(width, img_channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.view(z.shape[0], -1, 1, 1))
