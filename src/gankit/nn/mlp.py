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


class MLPImageGenerator(MLPGenerator):
    """z -> image: MLPGenerator's hidden layers, then a tanh output reshaped to (C, H, W). The permutation-invariant
    generator of BiGAN's MNIST experiments (Donahue et al. 2017: two layers of 1024 units)."""

    def __init__(self, z_dim: int, img_size: int, img_channels: int, width: int, depth: int):
        super().__init__(z_dim, img_channels * img_size * img_size, width, depth)
        self.shape = (img_channels, img_size, img_size)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.net(z)).view(-1, *self.shape)


class MaxoutLinear(nn.Module):
    """Maxout units (Goodfellow et al. 2013): each of `out_features` outputs is the largest of `pieces` linear
    functions of the input, a learned convex piecewise-linear activation. PacGAN's 2-D discriminators use them
    (5 pieces)."""

    def __init__(self, in_features: int, out_features: int, pieces: int):
        super().__init__()
        self.pieces = pieces
        self.linear = nn.Linear(in_features, out_features * pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x).unflatten(-1, (-1, self.pieces)).amax(-1)


class MLPEncoder(nn.Module):
    """x (a vector, or an image read as one: permutation-invariant) -> `out_dim` outputs through `depth` hidden
    layers of `width` units with LeakyReLU (or, with `maxout` > 1, maxout units of that many pieces), batch norm on
    all but the first when `norm`. `features(x)` is the last hidden layer; out_dim=0 leaves the head out (a pathway
    of a larger network)."""

    def __init__(self, in_dim: int, out_dim: int, width: int, depth: int, leak: float = 0.2, norm: bool = False,
                 maxout: int = 1):
        super().__init__()
        layers: list[nn.Module] = []
        d = in_dim
        for i in range(depth):
            layers.append(nn.Linear(d, width) if maxout == 1 else MaxoutLinear(d, width, maxout))
            if norm and i > 0:
                layers.append(nn.BatchNorm1d(width))
            if maxout == 1:
                layers.append(nn.LeakyReLU(leak, inplace=True))
            d = width
        self.body = nn.Sequential(*layers)
        self.features_dim = d
        self.head = nn.Linear(d, out_dim) if out_dim else None

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x.flatten(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.features(x)
        return h if self.head is None else self.head(h)


class MLPDiscriminator(MLPEncoder):
    """x -> one logit through `depth` hidden LeakyReLU(0.2) (or maxout) layers of `width` units, no normalisation
    (so it also serves as a WGAN-GP critic, whose penalty is per sample)."""

    def __init__(self, in_dim: int, width: int, depth: int, leak: float = 0.2, maxout: int = 1):
        super().__init__(in_dim, 1, width, depth, leak, norm=False, maxout=maxout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x).flatten()


class UnitNormLinear(nn.Linear):
    """A linear layer whose every output unit's weight vector is scaled to norm 1 on the way in (weight
    normalisation, as in the MLP discriminators of improved-GAN and Triple-GAN): the layer cannot grow its outputs by
    growing its weights, so a discriminator built of them stays smooth and its verdicts moderate. The stored weights
    only give directions; they start from N(0, 0.1) as in those codes. `learn_scale`: each unit's norm is a learned
    `scale` starting at 1 (Salimans & Kingma's weight normalisation; Triple-GAN's generator output layer): Adam then
    moves each unit's gain by about the learning rate per step, where with plain weights each of its hundreds of
    inputs' weights moves that much, and a tanh or sigmoid output can saturate within a few dozen steps.
    DCGAN's N(0, 0.02) would give the same directions but five times the relative step per update, so
    `dcgan_init` leaves these layers alone (`keeps_own_init`)."""

    keeps_own_init = True

    def __init__(self, in_features: int, out_features: int, bias: bool = True, learn_scale: bool = False):
        super().__init__(in_features, out_features, bias)
        self.scale = nn.Parameter(torch.ones(out_features)) if learn_scale else None

    def reset_parameters(self) -> None:
        nn.init.normal_(self.weight, 0.0, 0.1)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight / self.weight.norm(dim=1, keepdim=True).clamp_min(1e-6)
        if self.scale is not None:
            w = w * self.scale[:, None]
        return nn.functional.linear(x, w, self.bias)
