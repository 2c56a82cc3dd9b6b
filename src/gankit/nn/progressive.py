"""Layers of progressively grown networks (Karras et al., ICLR 2018), reusable by any later system.

Equalized learning rate: parameters are stored at unit variance and the He constant gain / sqrt(fan_in) is applied
to the weight at run time, so Adam's (scale-free) steps change every layer's effective weight by the same relative
amount. Biases are not scaled. PixelNorm and the minibatch standard deviation follow the official code.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError


class EqualizedLinear(nn.Module):
    """y = x (scale W)^T + b with W ~ N(0, 1), scale = gain / sqrt(in_features). `equalized=False` stores the
    scaled weight instead (plain He initialisation), the paper's ablation."""

    def __init__(self, in_features: int, out_features: int, gain: float = math.sqrt(2), equalized: bool = True):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        self.bias = nn.Parameter(torch.zeros(out_features))
        self.he = gain / math.sqrt(in_features)
        self.equalized = equalized
        self.scale = self.he if equalized else 1.0
        reset_equalized(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.scale, self.bias)


class EqualizedConv2d(nn.Module):
    """A k x k convolution (stride 1, 'same' zero padding) with the equalized learning rate of EqualizedLinear;
    fan_in = k * k * in_channels."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, gain: float = math.sqrt(2),
                 equalized: bool = True):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.he = gain / math.sqrt(in_channels * kernel_size * kernel_size)
        self.equalized = equalized
        self.scale = self.he if equalized else 1.0
        self.padding = kernel_size // 2
        reset_equalized(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)


@torch.no_grad()
def reset_equalized(layer: EqualizedLinear | EqualizedConv2d, generator: torch.Generator | None = None) -> None:
    """Weights N(0, 1) (N(0, he^2) without equalization), biases 0."""
    layer.weight.normal_(0.0, 1.0 if layer.equalized else layer.he, generator=generator)
    layer.bias.zero_()


def init_equalized(net: nn.Module, generator: torch.Generator) -> None:
    """Re-draw every equalized layer of `net` from `generator`, in module order (a seeded, reproducible net)."""
    for m in net.modules():
        if isinstance(m, (EqualizedLinear, EqualizedConv2d)):
            reset_equalized(m, generator)


class PixelNorm(nn.Module):
    """Each pixel's feature vector divided by its root mean square over channels (dim 1)."""

    def __init__(self, eps: float = 1e-8):
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.square().mean(dim=1, keepdim=True) + self.eps)


class MinibatchStddev(nn.Module):
    """Appends one feature map: the standard deviation of each feature and pixel over a group of samples (biased,
    +1e-8 under the root), averaged over features and pixels, one value per group. As in the official code, a
    batch of N splits into groups of `group` samples by `reshape(group, N // group, ...)`: sample i is in group
    i mod (N // group). group 0 = the whole batch (the paper's statistic)."""

    def __init__(self, group: int = 4):
        super().__init__()
        self.group = group

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        N, C, H, W = x.shape
        G = N if self.group == 0 else min(self.group, N)
        if N % G:
            raise ConfigError(f"minibatch stddev needs a batch divisible by its group size {G}, got {N}")
        y = x.reshape(G, N // G, C, H, W).float()
        y = (y - y.mean(dim=0)).square().mean(dim=0).add(1e-8).sqrt()  # (N/G, C, H, W)
        y = y.mean(dim=(1, 2, 3)).to(x.dtype)  # (N/G,)
        return torch.cat([x, y.repeat(G).view(N, 1, 1, 1).expand(N, 1, H, W)], dim=1)


def upscale2d(x: torch.Tensor, factor: int = 2) -> torch.Tensor:
    """Nearest-neighbour upsampling by an integer factor."""
    return x if factor == 1 else x.repeat_interleave(factor, dim=2).repeat_interleave(factor, dim=3)


def downscale2d(x: torch.Tensor, factor: int = 2) -> torch.Tensor:
    """factor x factor box averages (the data's lower resolutions, D's downsampling)."""
    return x if factor == 1 else F.avg_pool2d(x, factor)
