"""Picking a generator / discriminator pair for the data: MLPs for vectors, DCGAN convnets for images."""

from __future__ import annotations

import torch
from torch import nn

from ..errors import GankitError
from .discriminators import DCGANDiscriminator
from .generators import DCGANGenerator
from .mlp import MLPDiscriminator, MLPGenerator


def make_generator(info, z_dim: int, base_channels: int, mlp_width: int, mlp_depth: int, cond_dim: int = 0
                   ) -> nn.Module:
    """`cond_dim` extra inputs (e.g. a one-hot label) are concatenated to z."""
    if info.is_image:
        return DCGANGenerator(z_dim, info.img_size, info.img_channels, base_channels, in_extra=cond_dim)
    return MLPGenerator(z_dim, info.dim, mlp_width, mlp_depth, in_extra=cond_dim)


def make_discriminator(info, base_channels: int, mlp_width: int, mlp_depth: int, leak: float = 0.2,
                       norm: bool = True, pack: int = 1, cond_dim: int = 0, maxout: int = 1) -> nn.Module:
    """D for `pack` samples at once (PacGAN) and `cond_dim` extra input channels/features (cGAN); `maxout` > 1:
    the MLP's hidden units are maxout units of that many pieces (conv nets ignore it)."""
    if info.is_image:
        return DCGANDiscriminator(info.img_size, info.img_channels * pack + cond_dim, base_channels, leak=leak,
                                  norm=norm)
    return MLPDiscriminator(info.dim * pack + cond_dim, mlp_width, mlp_depth, leak=leak, maxout=maxout)


def packed(x: torch.Tensor, pack: int) -> torch.Tensor:
    """PacGAN (Lin et al. 2018): `pack` consecutive samples become one input to D, concatenated along
    channels (images) or features (vectors): (N, C, H, W) -> (N/pack, pack*C, H, W). D then judges sets of
    samples, and a generator that repeats itself is caught."""
    if pack == 1:
        return x
    if x.shape[0] % pack:
        raise GankitError(f"model.pack={pack} needs a batch size divisible by {pack}, got {x.shape[0]}")
    return x.reshape(x.shape[0] // pack, -1, *x.shape[2:])
