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


def make_discriminator(info, nets, norm: bool = True, pack: int = 1, cond_dim: int = 0) -> nn.Module:
    """D for `pack` samples at once (PacGAN) and `cond_dim` extra input channels/features (cGAN), sized by `nets`
    (a models.base.NetsConfig: base_channels for conv nets; d_width, d_depth and d_maxout for MLPs; leak), so a new
    network option is read here once rather than passed on by every model."""
    if info.is_image:
        return DCGANDiscriminator(info.img_size, info.img_channels * pack + cond_dim, nets.base_channels,
                                  leak=nets.leak, norm=norm)
    return MLPDiscriminator(info.dim * pack + cond_dim, nets.d_width, nets.d_depth, leak=nets.leak,
                            maxout=nets.d_maxout)


def packed(x: torch.Tensor, pack: int) -> torch.Tensor:
    """PacGAN (Lin et al. 2018): `pack` consecutive samples become one input to D, concatenated along
    channels (images) or features (vectors): (N, C, H, W) -> (N/pack, pack*C, H, W). D then judges sets of
    samples, and a generator that repeats itself is caught."""
    if pack == 1:
        return x
    if x.shape[0] % pack:
        raise GankitError(f"model.pack={pack} needs a batch size divisible by {pack}, got {x.shape[0]}")
    return x.reshape(x.shape[0] // pack, -1, *x.shape[2:])
