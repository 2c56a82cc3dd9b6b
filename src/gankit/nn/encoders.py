"""Networks that read an image into a vector: discriminator bodies, encoders, auxiliary heads' trunks."""

from __future__ import annotations

import torch
from torch import nn

from .generators import fc_conv_stages


class ConvEncoder(nn.Module):
    """image -> `out_dim` outputs: stride-2 4x4 convolutions, then a fully connected layer (Chen et al. 2016, the
    InfoGAN MNIST discriminator, whose body Q shares; mirrored by FCConvGenerator).

    Convs of base_channels, 2 * base_channels, ... (one per stage of fc_conv_stages), LeakyReLU(leak) after each,
    batch norm on all but the first when `norm`; then FC `hidden` (+ batch norm) + LeakyReLU: `features(x)`.
    The head is a linear layer to `out_dim`; out_dim=0 leaves it out (the x pathway of a joint discriminator).
    Serves as InfoGAN's D, BiGAN's E and the x pathway of BiGAN's D.
    """

    def __init__(self, img_size: int, img_channels: int, out_dim: int, base_channels: int = 64, hidden: int = 1024,
                 leak: float = 0.1, norm: bool = True):
        super().__init__()
        stages = fc_conv_stages(img_size, "the conv encoder")
        layers: list[nn.Module] = []
        width, c_in = base_channels, img_channels
        for i in range(stages):
            normed = norm and i > 0
            layers.append(nn.Conv2d(c_in, width, 4, 2, 1, bias=not normed))
            if normed:
                layers.append(nn.BatchNorm2d(width))
            layers.append(nn.LeakyReLU(leak, inplace=True))
            c_in, width = width, width * 2
        side = img_size // 2**stages
        layers += [nn.Flatten(), nn.Linear(c_in * side * side, hidden, bias=not norm)]
        if norm:
            layers.append(nn.BatchNorm1d(hidden))
        layers.append(nn.LeakyReLU(leak, inplace=True))
        self.body = nn.Sequential(*layers)
        self.features_dim = hidden
        self.head = nn.Linear(hidden, out_dim) if out_dim else None

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.body(x)
        return h if self.head is None else self.head(h)
