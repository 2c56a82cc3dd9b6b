"""Generators shared by several systems."""

from __future__ import annotations

import math

import torch
from torch import nn

from ..errors import ConfigError, DataError


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


def fc_conv_stages(img_size: int, who: str) -> int:
    """Stride-2 stages between the small map of an FC-conv network and `img_size`: at least 2 (28 -> 7, 32 -> 8, the
    InfoGAN paper's MNIST nets), more until the small map is at most 8 pixels (64 -> 8 in 3). The size must halve
    exactly at every stage."""
    stages = 2
    while img_size / 2**stages > 8:
        stages += 1
    if img_size < 8 or img_size % 2**stages:
        raise ConfigError(f"{who} needs data.img_size divisible by {2**stages} (e.g. 28, 32, 64), got {img_size}")
    return stages


class FCConvGenerator(nn.Module):
    """z -> image: two fully connected layers, then stride-2 transposed convolutions (Chen et al. 2016, InfoGAN's
    MNIST generator, appendix C.1).

    FC `hidden` (1024), FC to a (img_size / 2**stages)^2 map of `base_channels * 2**(stages-1)` channels, each with
    batch norm and ReLU; then 4x4 stride-2 transposed convs halving the width, with batch norm and ReLU, and a last
    one to `img_channels` with tanh. For 28x28 and base_channels=64: FC 1024, FC 7x7x128, up 64, up 1, the paper's.
    """

    def __init__(self, z_dim: int, img_size: int, img_channels: int, base_channels: int = 64, hidden: int = 1024):
        super().__init__()
        stages = fc_conv_stages(img_size, "the FC-conv generator")
        width, side = base_channels * 2 ** (stages - 1), img_size // 2**stages
        self.start = (width, side, side)
        self.fc = nn.Sequential(
            nn.Linear(z_dim, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True),
            # Batch norm over the flattened map, one statistic per unit (as the paper's code normalises it).
            nn.Linear(hidden, width * side * side, bias=False), nn.BatchNorm1d(width * side * side),
            nn.ReLU(inplace=True),
        )
        layers: list[nn.Module] = []
        for _ in range(stages - 1):
            layers += [nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(width // 2),
                       nn.ReLU(inplace=True)]
            width //= 2
        layers += [nn.ConvTranspose2d(width, img_channels, 4, 2, 1), nn.Tanh()]
        self.up = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.up(self.fc(z).view(-1, *self.start))


NORMS = ("batch", "instance")


def norm2d(kind: str, channels: int) -> nn.Module:
    """The 2-d normalisation layer named `kind`: "batch" or "instance" (no affine, no running statistics)."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        # As in the CycleGAN/pix2pix code: per-image statistics both in training and at test time, no scale/shift.
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    raise ValueError(f"norm must be one of {', '.join(NORMS)}; got {kind!r}")


class ImageSizeError(DataError, ValueError):
    """An image a network cannot take at its size: a user's input to fix (one line from the CLI, a 400 from
    gankit serve), and a ValueError for code that catches those."""


def _check_size(x: torch.Tensor, multiple: int, who: str, minimum: int = 1) -> None:
    height, width = x.shape[-2:]
    if height % multiple or width % multiple or height < minimum or width < minimum:
        at_least = f" and at least {minimum}" if minimum > multiple else ""
        raise ImageSizeError(f"{who} needs a height and width that are multiples of {multiple}{at_least}; "
                         f"got {height}x{width} (resize or crop the images)")


class UNetGenerator(nn.Module):
    """The pix2pix encoder-decoder with skip connections (Isola et al. 2017, appendix 6.1.1).

    Encoder: `depth` 4x4 stride-2 convs, C64-C128-C256-C512-C512-... (widths double up to 8 * base_channels),
    each but the first followed by the norm, and LeakyReLU(0.2) between them. Decoder: the mirror image, with
    ReLU then a 4x4 stride-2 transposed conv then the norm; decoder layer k (counted from the bottleneck) sees
    its predecessor's output concatenated with the matching encoder output, so fine detail can bypass the
    bottleneck. Dropout follows the first three decoder layers (the paper's CD512-CD1024-CD1024); the last layer
    maps to `out_channels` with tanh. depth=8 is the paper's U-Net-256 (a 256x256 image reaches 1x1).

    The paper keeps dropout on at test time as its noise source; this module follows the usual train/eval
    switch, so a caller that wants that behaviour keeps the Dropout modules in training mode.
    Input height and width must be multiples of `self.multiple` (2**depth).
    """

    def __init__(self, in_channels: int, out_channels: int, depth: int = 8, base_channels: int = 64,
                 norm: str = "batch", dropout: float = 0.5):
        super().__init__()
        if depth < 1:
            raise ValueError(f"the U-Net generator needs depth >= 1, got {depth}")
        norm2d(norm, 1)  # fail on an unknown norm before building anything
        self.depth = depth
        self.multiple = 2**depth
        # A conv followed by batch norm loses its bias (the norm's shift replaces it); instance norm without
        # affine has no shift, so there the conv keeps its own.
        bias = norm != "batch"

        def width(i: int) -> int:
            return base_channels * min(2**i, 8)

        encoder: list[nn.Module] = []
        for i in range(depth):
            layers: list[nn.Module] = []
            if i > 0:
                # Not in place: this layer's input is also kept as a skip connection.
                layers.append(nn.LeakyReLU(0.2))
            innermost = i == depth - 1
            # No norm on the first layer (the paper's C64) nor on the bottleneck: with batch 1 its map is 1x1,
            # where batch or instance norm would zero it (the authors removed it for that reason).
            normed = i > 0 and not innermost
            layers.append(nn.Conv2d(in_channels if i == 0 else width(i - 1), width(i), 4, 2, 1,
                                    bias=bias or not normed))
            if normed:
                layers.append(norm2d(norm, width(i)))
            encoder.append(nn.Sequential(*layers))
        self.encoder = nn.ModuleList(encoder)

        n_dropout = min(3, depth - 1) if dropout > 0 else 0
        decoder: list[nn.Module] = []
        for k in range(depth):
            level = depth - 1 - k  # the encoder layer this decoder layer mirrors
            c_in = width(level) if k == 0 else 2 * width(level)  # all but the first also take a skip
            # In place is safe: the input is the bottleneck output or a fresh concatenation, used nowhere else.
            layers = [nn.ReLU(inplace=True)]
            if level == 0:
                layers += [nn.ConvTranspose2d(c_in, out_channels, 4, 2, 1), nn.Tanh()]
            else:
                layers += [nn.ConvTranspose2d(c_in, width(level - 1), 4, 2, 1, bias=bias),
                           norm2d(norm, width(level - 1))]
                if k < n_dropout:
                    layers.append(nn.Dropout(dropout))
            decoder.append(nn.Sequential(*layers))
        self.decoder = nn.ModuleList(decoder)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_size(x, self.multiple, f"the U-Net generator with depth {self.depth}")
        skips: list[torch.Tensor] = []
        h = x
        for layer in self.encoder:
            h = layer(h)
            skips.append(h)
        h = self.decoder[0](skips.pop())
        for layer in self.decoder[1:]:
            h = layer(torch.cat([h, skips.pop()], dim=1))
        return h


def pad2d(mode: str, size: int) -> nn.Module:
    """Padding before a conv: "reflect" (CycleGAN: no artefacts at the border) or "zeros" (StarGAN)."""
    if mode == "reflect":
        return nn.ReflectionPad2d(size)
    if mode == "zeros":
        return nn.ZeroPad2d(size)
    raise ValueError(f"padding must be reflect or zeros, got {mode!r}")


class ResnetBlock(nn.Module):
    """CycleGAN's R-block: x + (pad, 3x3 conv, norm, ReLU, [dropout], pad, 3x3 conv, norm)(x).

    Both convs keep the width; reflection padding instead of zeros avoids artefacts at the image border.
    """

    def __init__(self, channels: int, norm: str = "instance", dropout: float = 0.0, padding: str = "reflect"):
        super().__init__()
        bias = norm != "batch"
        layers: list[nn.Module] = [pad2d(padding, 1), nn.Conv2d(channels, channels, 3, bias=bias),
                                   norm2d(norm, channels), nn.ReLU(inplace=True)]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        layers += [pad2d(padding, 1), nn.Conv2d(channels, channels, 3, bias=bias), norm2d(norm, channels)]
        self.block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class ResnetGenerator(nn.Module):
    """The CycleGAN generator (Zhu et al. 2017, appendix 7.2, after Johnson et al. 2016).

    c7s1-64, d128, d256, `n_blocks` x R256, u128, u64, c7s1-`out_channels`: a reflection-padded 7x7 conv, two
    3x3 stride-2 convs, residual blocks at 1/4 resolution, two 3x3 stride-2 transposed convs back up, and a
    reflection-padded 7x7 conv with tanh. Every conv but the last is followed by the norm and ReLU. The paper
    uses 6 blocks for 128x128 images and 9 for 256x256 and larger. `sampling_kernel=4` and `padding="zeros"` give
    StarGAN's generator (Choi et al. 2018, appendix): 4x4 down- and up-sampling convolutions, zero padding. Zero
    padding matters there: StarGAN's labels enter as constant maps, and instance norm removes whatever a conv adds
    uniformly over the map; only at the zero-padded border do the labels survive the first normalisation. Input
    height and width must be multiples of `self.multiple` (4) and at least 8 (reflection padding needs a map
    wider than its pad).
    """

    def __init__(self, in_channels: int, out_channels: int, n_blocks: int = 9, base_channels: int = 64,
                 norm: str = "instance", dropout: float = 0.0, sampling_kernel: int = 3, padding: str = "reflect"):
        super().__init__()
        if n_blocks < 0:
            raise ValueError(f"the ResNet generator needs n_blocks >= 0, got {n_blocks}")
        if sampling_kernel not in (3, 4):
            raise ValueError(f"sampling_kernel must be 3 (CycleGAN) or 4 (StarGAN), got {sampling_kernel}")
        norm2d(norm, 1)  # fail on an unknown norm before building anything
        self.multiple = 4
        bias = norm != "batch"  # batch norm's shift makes a conv bias redundant; instance norm has none
        b = base_channels
        layers: list[nn.Module] = [pad2d(padding, 3), nn.Conv2d(in_channels, b, 7, bias=bias),
                                   norm2d(norm, b), nn.ReLU(inplace=True)]
        k = sampling_kernel
        for c in (b, 2 * b):
            layers += [nn.Conv2d(c, 2 * c, k, 2, 1, bias=bias), norm2d(norm, 2 * c), nn.ReLU(inplace=True)]
        layers += [ResnetBlock(4 * b, norm, dropout, padding) for _ in range(n_blocks)]
        for c in (4 * b, 2 * b):
            # Each transposed conv exactly doubles the size: 3x3 (stride 2, pad 1) needs output_padding=1, 4x4 not.
            layers += [nn.ConvTranspose2d(c, c // 2, k, 2, 1, output_padding=4 - k, bias=bias),
                       norm2d(norm, c // 2), nn.ReLU(inplace=True)]
        layers += [pad2d(padding, 3), nn.Conv2d(b, out_channels, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_size(x, self.multiple, "the ResNet generator", minimum=8)
        return self.net(x)
