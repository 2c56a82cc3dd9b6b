"""Discriminators shared by several systems."""

from __future__ import annotations

import torch
from torch import nn

from .generators import norm2d, pyramid_depth


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


def receptive_field(net: nn.Module) -> int:
    """Side in input pixels of the window that one output cell of `net` sees, from its Conv2d layers.

    The layers are taken in module order as one chain, with the usual recursion: each conv widens the window by
    (kernel - 1) * dilation input steps of the current jump, and multiplies the jump by its stride. Layers other
    than Conv2d (norms, activations) are pointwise and do not widen it. For non-square kernels the larger side.
    """
    sides = []
    for axis in (0, 1):
        field, jump = 1, 1
        for m in net.modules():
            if isinstance(m, nn.Conv2d):
                field += (m.kernel_size[axis] - 1) * m.dilation[axis] * jump
                jump *= m.stride[axis]
        sides.append(field)
    return max(sides)


class PatchDiscriminator(nn.Module):
    """The PatchGAN (Isola et al. 2017, appendix 6.1.2): a map of real/fake logits, one per image patch.

    n_layers >= 1: a 4x4 stride-2 conv with no norm, n_layers - 1 more 4x4 stride-2 convs doubling the width
    (capped at 8 * base_channels), one 4x4 stride-1 conv, each with the norm, then a 4x4 stride-1 conv to one
    channel; LeakyReLU(0.2) between them, no sigmoid (losses take logits). n_layers = 3 is the 70x70 PatchGAN
    C64-C128-C256-C512 used by pix2pix and CycleGAN; 1 and 5 give the paper's 16x16 and 286x286 ones.
    n_layers = 0 is the 1x1 PixelGAN: three 1x1 convs (base, 2 * base, 1), judging each pixel alone.
    forward returns the (N, 1, h, w) logits; for pix2pix the input is the condition and the image concatenated.
    """

    def __init__(self, in_channels: int, base_channels: int = 64, n_layers: int = 3, norm: str = "batch"):
        super().__init__()
        if n_layers < 0:
            raise ValueError(f"the PatchGAN discriminator needs n_layers >= 0, got {n_layers}")
        norm2d(norm, 1)  # fail on an unknown norm before building anything
        # Batch norm's shift makes the bias of the conv before it redundant; instance norm has no shift.
        bias = norm != "batch"
        b = base_channels
        if n_layers == 0:
            layers: list[nn.Module] = [
                nn.Conv2d(in_channels, b, 1), nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(b, 2 * b, 1, bias=bias), norm2d(norm, 2 * b), nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(2 * b, 1, 1),
            ]
        else:
            layers = [nn.Conv2d(in_channels, b, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
            width = b
            for i in range(1, n_layers + 1):
                # The last of these keeps the size (stride 1): it deepens the window without halving the map.
                stride = 2 if i < n_layers else 1
                out = b * min(2**i, 8)
                layers += [nn.Conv2d(width, out, 4, stride, 1, bias=bias), norm2d(norm, out),
                           nn.LeakyReLU(0.2, inplace=True)]
                width = out
            layers.append(nn.Conv2d(width, 1, 4, 1, 1))
        self.net = nn.Sequential(*layers)

    @property
    def receptive_field(self) -> int:
        """Side in input pixels of the patch each output logit judges (70 for n_layers = 3)."""
        return receptive_field(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def check_patch_size(img_size: int, n_layers: int) -> None:
    """A PatchGAN's n_layers stride-2 convs leave floor(img_size / 2**n_layers) pixels; its two last 4x4 convs
    (stride 1, padding 1) take one each, and a normalised map needs more than one pixel: at least 3 must remain."""
    from ..errors import ConfigError

    need = 3 * 2**n_layers if n_layers > 0 else 1
    if img_size < need:
        raise ConfigError(f"a PatchGAN with model.n_layers={n_layers} needs data.img_size >= {need}, got {img_size}; "
                          f"use a smaller model.n_layers")
