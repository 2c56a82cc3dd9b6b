"""LAPGAN — Denton, Chintala, Szlam & Fergus, "Deep Generative Image Models using a Laplacian Pyramid of
Adversarial Networks", NeurIPS 2015.

An image is a Laplacian pyramid: I_0 = I, I_{k+1} = d(I_k) (blur and take every second pixel), band-pass levels
h_k = I_k - u(I_{k+1}) (u: expand back), and the coarsest image I_K. One GAN per level generates it:
    coarsest:   I~_K = G_K(z_K)                               (fully connected nets, z_K ~ U(-1, 1)^z_dim)
    k < K:      l_k = u(I~_{k+1}),  I~_k = l_k + G_k(z_k, l_k) (convnets; z_k one noise plane U(-1, 1) beside l_k)
G_k outputs the residual h~_k (no output nonlinearity); its D_k judges the image l_k + h, not l and h apart (the
official code sums them before D's first layer). Every level is trained on *real* pyramids, independently of the
others: real pairs (l_k, h_k), fake pairs (l_k, G_k(z_k, l_k)), each level its own BCE game (D: half a batch of
real and half of fakes; G: a whole batch, non-saturating). Sampling chains the levels from noise alone.
Defaults (the paper's CIFAR-10 setting, the official code's nets):
    G_k: conv 7x7 64, ReLU, conv 7x7 64, ReLU, conv 5x5 C (same padding);  D_k: conv 5x5 64, ReLU, conv 5x5 64
    stride 2, ReLU, dropout 0.5, linear (no padding);  coarsest: G 2 x 1200 ReLU units, D 2 x 600 with dropout.
    SGD lr 0.02, momentum 0.5 rising by 0.0008 a pass over the data up to 0.8, lr divided by 1 + 4e-5 a pass
    (both pure functions of the step: resume stays exact); `optimizer=adam` (2e-4, 0.5, 0.999) as an option.
    `pyramid=binomial` (the paper's Burt-Adelson 5-tap filter, nn/pyramid.py) or `bilinear` (the official code).
Class-conditional (`class_conditional=true`): the one-hot label enters the coarsest nets beside z / the image, and
every finer G_k and D_k as one more plane (label -> linear -> ReLU -> an image-sized plane), as in the code.
`levels=1` is the paper's single-scale baseline: the coarsest level's fully connected GAN at full resolution.

Data: labelled or unlabelled images, any size whose finer levels are at least 9 pixels (D's two valid convs).
Use: `gankit sample RUN --levels` (each level of the chain as a row), `--coarse DIR` (start from given coarse
images, the paper's conditional refinement); `gankit evaluate` adds each level's Fréchet distance.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F
from torch import nn

from ..config import ModelConfig
from ..errors import ArgumentError, ConfigError
from ..losses.adversarial import bce_discriminator_loss, nonsaturating_generator_loss
from ..nn import frozen
from ..nn.pyramid import blur, upsample
from ..registry import MODELS
from .base import Batch, DataInfo, GANModel, class_labels

COARSEST_MAX = 8  # levels=0: as many levels as it takes for the coarsest image to be at most 8 pixels


@dataclass
class LAPGANConfig(ModelConfig):
    name: str = "lapgan"
    levels: int = 0  # pyramid levels including the full-size image; 0: coarsest at most 8 px (32 -> 8, 16, 32)
    pyramid: Literal["binomial", "bilinear"] = "binomial"
    z_dim: int = 100  # the coarsest level's noise
    coarse_g_hidden: int = 1200  # the paper's sizes; the official code's are 8000 and 1600
    coarse_d_hidden: int = 600
    coarse_g_act2: Literal["relu", "sigmoid"] = "relu"  # G's second hidden layer (the code: sigmoid)
    base_channels: int = 64  # feature maps of every finer G_k and D_k
    g_kernels: list[int] = field(default_factory=lambda: [7, 7, 5])  # G_k's convolutions, the last one to C maps
    d_dropout: float = 0.5
    class_conditional: bool = False
    optimizer: Literal["sgd", "adam"] = "sgd"
    lr: float = 0.02  # SGD, every network
    lr_decay: float = 4e-5  # lr / (1 + lr_decay)^passes, floored at lr_min
    lr_min: float = 1e-6
    momentum: float = 0.5
    momentum_step: float = 0.0008  # added each pass over the data ...
    momentum_max: float = 0.8  # ... up to this (the code: 0.7)
    lr_adam: float = 2e-4  # optimizer=adam
    beta1: float = 0.5
    beta2: float = 0.999
    train_defaults: ClassVar[dict[str, Any]] = {"batch_size": 128}
    limits: ClassVar[dict] = {"levels": (0, 8, "[]"), "z_dim": (1, None, "[]"), "coarse_g_hidden": (1, None, "[]"),
                              "coarse_d_hidden": (1, None, "[]"), "base_channels": (1, None, "[]"),
                              "d_dropout": (0, 1, "[)"), "lr": (0, None, "(]"), "lr_decay": (0, None, "[]"),
                              "lr_min": (0, None, "[]"), "momentum": (0, 1, "[)"), "momentum_step": (0, 1, "[]"),
                              "momentum_max": (0, 1, "[)"), "lr_adam": (0, None, "(]"), "beta1": (0, 1, "[)"),
                              "beta2": (0, 1, "[)")}

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.g_kernels or any(k < 1 or k % 2 == 0 for k in self.g_kernels):
            raise ConfigError(f"'model.g_kernels' must be odd sizes (same padding), at least one, got "
                              f"{self.g_kernels}")


# ------------------------------------------------------------------------------------------ the pyramid


def reduce(x: torch.Tensor, kind: str) -> torch.Tensor:
    """d(): the next coarser level, ceil(h / 2) pixels a side."""
    if kind == "binomial":
        return blur(x)[..., ::2, ::2]
    size = (math.ceil(x.shape[-2] / 2), math.ceil(x.shape[-1] / 2))
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


def expand(x: torch.Tensor, size: tuple[int, int], kind: str) -> torch.Tensor:
    """u(): a coarser level brought to the next finer level's `size`."""
    if kind == "binomial":
        return upsample(x, size)
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


def level_sizes(img_size: int, levels: int) -> list[int]:
    """Each level's side, finest (the image) first; levels=0 picks the count that ends at most 8 pixels."""
    sizes = [img_size]
    while (len(sizes) < levels) if levels else sizes[-1] > COARSEST_MAX:
        sizes.append(math.ceil(sizes[-1] / 2))
    return sizes


# ------------------------------------------------------------------------------------------- the nets


class LabelPlane(nn.Module):
    """One-hot label -> linear -> ReLU -> one image-sized plane (the code's class-conditional input)."""

    def __init__(self, num_classes: int, size: int):
        super().__init__()
        self.size = size
        self.linear = nn.Linear(num_classes, size * size)

    def forward(self, onehot: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.linear(onehot)).view(-1, 1, self.size, self.size)


class CoarseGenerator(nn.Module):
    """z (‖ one-hot) -> the coarsest image: two hidden layers, tanh output in the image range [-1, 1]."""

    def __init__(self, in_dim: int, size: int, channels: int, hidden: int, act2: str):
        super().__init__()
        self.shape = (channels, size, size)
        self.net = nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(),
                                 nn.Linear(hidden, hidden), nn.ReLU() if act2 == "relu" else nn.Sigmoid(),
                                 nn.Linear(hidden, channels * size * size))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.net(z)).view(-1, *self.shape)


class CoarseDiscriminator(nn.Module):
    """The coarsest image (‖ one-hot) -> one logit: two hidden ReLU layers, each followed by dropout."""

    def __init__(self, in_dim: int, hidden: int, dropout: float):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Dropout(dropout),
                                 nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor, onehot: torch.Tensor | None = None) -> torch.Tensor:
        x = x.flatten(1)
        return self.net(x if onehot is None else torch.cat([x, onehot], 1)).flatten()


class ResidualGenerator(nn.Module):
    """(noise plane, l_k (‖ label plane)) -> the band-pass residual h~_k, same size; linear output (a residual is
    signed and small, not an image)."""

    def __init__(self, channels: int, size: int, width: int, kernels: list[int], num_classes: int):
        super().__init__()
        self.label = LabelPlane(num_classes, size) if num_classes else None
        layers: list[nn.Module] = []
        c = 1 + channels + (1 if num_classes else 0)
        for i, k in enumerate(kernels):
            last = i == len(kernels) - 1
            layers.append(nn.Conv2d(c, channels if last else width, k, padding=k // 2))
            if not last:
                layers.append(nn.ReLU())
            c = width
        self.net = nn.Sequential(*layers)

    def forward(self, noise: torch.Tensor, low: torch.Tensor, onehot: torch.Tensor | None = None) -> torch.Tensor:
        parts = [noise, low] if self.label is None else [noise, low, self.label(onehot)]
        return self.net(torch.cat(parts, 1))


class ResidualDiscriminator(nn.Module):
    """(l_k, h) -> one logit. Its first operation is l_k + h: D judges the image, as the official code's
    CAddTable does, so it cannot tell a residual from the same picture split differently."""

    def __init__(self, channels: int, size: int, width: int, dropout: float, num_classes: int):
        super().__init__()
        self.label = LabelPlane(num_classes, size) if num_classes else None
        c = channels + (1 if num_classes else 0)
        out = (size - 4 - 5) // 2 + 1
        self.net = nn.Sequential(nn.Conv2d(c, width, 5), nn.ReLU(), nn.Conv2d(width, width, 5, stride=2), nn.ReLU(),
                                 nn.Dropout(dropout), nn.Flatten(), nn.Linear(width * out * out, 1))

    def forward(self, low: torch.Tensor, residual: torch.Tensor, onehot: torch.Tensor | None = None) -> torch.Tensor:
        image = low + residual
        if self.label is not None:
            image = torch.cat([image, self.label(onehot)], 1)
        return self.net(image).flatten()


class LaplacianChain(nn.Module):
    """The whole sampler as one network: noise (‖ one-hot label) -> the full-size image, coarse to fine.

    Its input is one row per sample: z_K (z_dim values), then the noise plane of every finer level, coarsest first
    (size^2 values each), all U(-1, 1); class-conditional chains take the one-hot label after them. `levels()`
    returns every level of the chain, can start from given coarse images and can zero every residual."""

    def __init__(self, sizes: list[int], channels: int, z_dim: int, coarse_hidden: int, coarse_act2: str,
                 width: int, kernels: list[int], pyramid: str, num_classes: int):
        super().__init__()
        self.sizes, self.channels, self.z_dim, self.pyramid = sizes, channels, z_dim, pyramid
        self.num_classes = num_classes
        K = len(sizes) - 1
        self.coarse = CoarseGenerator(z_dim + num_classes, sizes[K], channels, coarse_hidden, coarse_act2)
        # refine[k] is G_k, k = 0 (full size) ... K-1, the paper's numbering
        self.refine = nn.ModuleList(ResidualGenerator(channels, sizes[k], width, kernels, num_classes)
                                    for k in range(K))
        self.noise_dim = z_dim + sum(s * s for s in sizes[:K])

    def split(self, z: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor], torch.Tensor | None]:
        """The input row -> (z_K, noise planes [z_0, ..., z_{K-1}], one-hot label or None)."""
        onehot = z[:, self.noise_dim:] if self.num_classes else None
        zK, rest = z[:, :self.z_dim], z[:, self.z_dim:self.noise_dim]
        planes: list[torch.Tensor] = [torch.empty(0)] * (len(self.sizes) - 1)
        start = 0
        for k in reversed(range(len(self.sizes) - 1)):  # coarsest plane first
            s = self.sizes[k]
            planes[k] = rest[:, start:start + s * s].view(-1, 1, s, s)
            start += s * s
        return zK, planes, onehot

    def levels(self, z: torch.Tensor, coarse: torch.Tensor | None = None, zero_residuals: bool = False
               ) -> list[torch.Tensor]:
        """[I~_K, ..., I~_0], coarsest first. With `coarse` (images the size of a level k), the chain starts from
        them: [coarse, I~_{k-1}, ..., I~_0]. `zero_residuals`: every h~ = 0, so each level is u() of the one above."""
        zK, planes, onehot = self.split(z)
        K = len(self.sizes) - 1
        if coarse is None:
            start = K
            image = self.coarse(zK if onehot is None else torch.cat([zK, onehot], 1))
        else:
            start = self.sizes.index(coarse.shape[-1])
            image = coarse
        out = [image]
        for k in reversed(range(start)):
            low = expand(image, (self.sizes[k], self.sizes[k]), self.pyramid)
            image = low if zero_residuals else low + self.refine[k](planes[k], low, onehot)
            out.append(image)
        return out

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.levels(z)[-1]


# ------------------------------------------------------------------------------------------- the system


@MODELS.register("lapgan")
class LAPGAN(GANModel):
    Config = LAPGANConfig

    def __init__(self, cfg: LAPGANConfig, info: DataInfo, init_seed: int = 0):
        super().__init__(cfg, info)
        if not info.is_image:
            raise ConfigError(f"lapgan generates images through a pyramid; {info.name} is vector data (use 'gan')")
        if cfg.class_conditional and info.num_classes < 2:
            raise ConfigError(f"model.class_conditional=true needs labelled images; {info.name} has none")
        self.sizes = level_sizes(info.img_size, cfg.levels)
        if len(self.sizes) > 1 and self.sizes[-2] < 9:
            raise ConfigError(f"lapgan's finer levels must be at least 9 pixels (D's two unpadded 5x5 convs): "
                              f"model.levels={cfg.levels} at {info.img_size} px gives {self.sizes[::-1]}; use fewer "
                              "levels")
        K = len(self.sizes) - 1
        classes = info.num_classes if cfg.class_conditional else 0
        C = info.img_channels
        self.G = LaplacianChain(self.sizes, C, cfg.z_dim, cfg.coarse_g_hidden, cfg.coarse_g_act2, cfg.base_channels,
                                list(cfg.g_kernels), cfg.pyramid, classes)
        # D[k] judges level k, k = 0 (full size) ... K (the coarsest image, fully connected)
        self.D = nn.ModuleList([*(ResidualDiscriminator(C, self.sizes[k], cfg.base_channels, cfg.d_dropout, classes)
                                  for k in range(K)),
                                CoarseDiscriminator(C * self.sizes[K] ** 2 + classes, cfg.coarse_d_hidden,
                                                    cfg.d_dropout)])
        self.steps_per_pass = 1  # set by check(), which knows the data and the batch
        if classes:
            # Only a class-conditional LAPGAN takes `label=` (the sample task looks for this method to decide).
            self.class_labels = self._class_labels
        init_lapgan(self, init_seed)

    @property
    def K(self) -> int:
        return len(self.sizes) - 1

    def check(self, train, n_images: int) -> None:
        if train.batch_size < 2:
            raise ConfigError("lapgan's D sees half a batch of real and half of generated images: train.batch_size "
                              "must be at least 2")
        self.steps_per_pass = max(1, n_images // train.batch_size)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        cfg = self.cfg
        nets = {f"G{k}": self.G.refine[k] for k in range(self.K)} | {f"G{self.K}": self.G.coarse}
        nets |= {f"D{k}": self.D[k] for k in range(self.K + 1)}
        if cfg.optimizer == "adam":
            return {name: torch.optim.Adam(net.parameters(), lr=cfg.lr_adam, betas=(cfg.beta1, cfg.beta2))
                    for name, net in nets.items()}
        # Torch7's optim.sgd (the official code) damps the momentum buffer by the momentum itself,
        # buf = m buf + (1 - m) g; PyTorch's default (no dampening) would make each step 1 / (1 - m) times larger.
        return {name: torch.optim.SGD(net.parameters(), lr=cfg.lr, momentum=cfg.momentum, dampening=cfg.momentum)
                for name, net in nets.items()}

    def schedule(self, step: int) -> tuple[float, float]:
        """(learning-rate factor, momentum) at `step`: the paper's per-pass decay and momentum ramp, a pure function
        of the step so that a resumed run continues them exactly."""
        cfg = self.cfg
        passes = step // self.steps_per_pass
        lr_factor = max(cfg.lr_min / cfg.lr, (1 + cfg.lr_decay) ** -passes)
        return lr_factor, min(cfg.momentum_max, cfg.momentum + cfg.momentum_step * passes)

    def uniform(self, n: int, *shape: int) -> torch.Tensor:
        return self.rand(n, *shape) * 2 - 1

    def onehot(self, y: torch.Tensor | None) -> torch.Tensor | None:
        return None if y is None or not self.cfg.class_conditional else F.one_hot(y, self.info.num_classes).float()

    def gaussian_pyramid(self, x: torch.Tensor) -> list[torch.Tensor]:
        """[I_0, ..., I_K]: the image and its ever coarser versions."""
        levels = [x]
        for _ in range(self.K):
            levels.append(reduce(levels[-1], self.cfg.pyramid))
        return levels

    def laplacian_pyramid(self, x: torch.Tensor) -> list[torch.Tensor]:
        """[h_0, ..., h_{K-1}, I_K]: what the generators learn, finest first."""
        g = self.gaussian_pyramid(x)
        return [g[k] - expand(g[k + 1], g[k].shape[-2:], self.cfg.pyramid) for k in range(self.K)] + [g[self.K]]

    def train_step(self, next_batch: Callable[[], Batch], step: int) -> dict[str, torch.Tensor]:
        lr_factor, momentum = self.schedule(step)
        if self.cfg.optimizer == "sgd":
            for opt in self.optimizers.values():
                for group in opt.param_groups:  # the trainer has just set lr to its own schedule's value
                    group["lr"] *= lr_factor
                    group["momentum"] = group["dampening"] = momentum
        batch = next_batch()
        real = self.gaussian_pyramid(batch["x"])
        y = self.onehot(batch.get("label"))
        n = real[0].shape[0]
        half = n // 2
        y_real, y_fake = (None, None) if y is None else (y[:half], y[half:])
        stats: dict[str, torch.Tensor] = {}
        K = self.K

        # Coarsest level: an unconditional (or label-conditional) GAN on I_K.
        D, G = self.D[K], self.G.coarse
        zK = self.uniform(n - half, self.cfg.z_dim)
        fake = G(zK if y_fake is None else torch.cat([zK, y_fake], 1))
        # Halved: the official D averages one BCE over its whole batch of real and generated images.
        loss_D = 0.5 * bce_discriminator_loss(D(real[K][:half], y_real), D(fake.detach(), y_fake))
        self.optimize(f"D{K}", loss_D)
        zK = self.uniform(n, self.cfg.z_dim)
        with frozen(D):
            loss_G = nonsaturating_generator_loss(D(G(zK if y is None else torch.cat([zK, y], 1)), y))
        self.optimize(f"G{K}", loss_G)
        stats[f"D{K}/loss"], stats[f"G{K}/loss"] = loss_D.detach(), loss_G.detach()

        # Finer levels: real pairs (l_k, h_k) against (l_k, G_k(z_k, l_k)), l_k from the *real* coarser image.
        for k in reversed(range(K)):
            D, G, s = self.D[k], self.G.refine[k], self.sizes[k]
            low = expand(real[k + 1], (s, s), self.cfg.pyramid)
            residual = real[k] - low
            fake = G(self.uniform(n - half, 1, s, s), low[half:], y_fake)
            loss_D = 0.5 * bce_discriminator_loss(D(low[:half], residual[:half], y_real),
                                                  D(low[half:], fake.detach(), y_fake))
            self.optimize(f"D{k}", loss_D)
            with frozen(D):
                loss_G = nonsaturating_generator_loss(D(low, G(self.uniform(n, 1, s, s), low, y), y))
            self.optimize(f"G{k}", loss_G)
            stats[f"D{k}/loss"], stats[f"G{k}/loss"] = loss_D.detach(), loss_G.detach()
        return stats

    # ------------------------------------------------------------------------------------------- use

    def _class_labels(self, n: int, label: int | torch.Tensor | None) -> torch.Tensor:
        return class_labels(self, n, label)

    def chain_input(self, n: int, generator: torch.Generator | None = None,
                    label: int | torch.Tensor | None = None) -> torch.Tensor:
        """The chain's input row for n samples: every level's noise, U(-1, 1) (then the one-hot label)."""
        z = torch.rand(n, self.G.noise_dim, generator=generator or self.noise, device=self.device) * 2 - 1
        if self.cfg.class_conditional:
            z = torch.cat([z, F.one_hot(self._class_labels(n, label), self.info.num_classes).float()], 1)
        elif label is not None:
            raise ArgumentError("label", "is for class-conditional models; this lapgan was trained without labels")
        return z

    def generate(self, n: int, generator: torch.Generator | None = None, G: nn.Module | None = None,
                 label: int | torch.Tensor | None = None) -> torch.Tensor:
        return (G or self.G)(self.chain_input(n, generator, label))

    def generate_levels(self, n: int, generator: torch.Generator | None = None, G: nn.Module | None = None,
                        coarse: torch.Tensor | None = None, zero_residuals: bool = False,
                        label: int | torch.Tensor | None = None) -> list[torch.Tensor]:
        """Every level of n chains, coarsest first, each at its own size (in [-1, 1], unclamped). `coarse`: n images
        of a level's size to start from, the paper's conditional refinement of real low-resolution images."""
        if coarse is not None and (coarse.shape[-1] not in self.sizes[1:] or coarse.shape[-2] != coarse.shape[-1]):
            valid = " or ".join(f"{s}x{s}" for s in self.sizes[1:]) or "nothing (a single-level model)"
            raise ArgumentError("coarse", f"images must be {valid} pixels (a level of this model's chain), got "
                                f"{coarse.shape[-1]}x{coarse.shape[-2]}")
        return (G or self.G).levels(self.chain_input(n, generator, label), coarse, zero_residuals)

    def real_levels(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The same view of real images (in [-1, 1]): their Gaussian pyramid, coarsest first."""
        return self.gaussian_pyramid(x)[::-1]

    def to_full_size(self, x: torch.Tensor) -> torch.Tensor:
        """A level's images expanded by u() to the full size, as the chain would with every residual zero."""
        for s in reversed(self.sizes):
            if s > x.shape[-1]:
                x = expand(x, (s, s), self.cfg.pyramid)
        return x

    def sample_grid(self, n, generator, G, data):
        """Rows of the chain's levels, coarsest first, each brought to full size by pixel repetition (a single-level
        model: a square grid of samples)."""
        if self.K == 0:
            return self.generate(n, generator, G), None
        cols = max(1, n // len(self.sizes))
        levels = self.generate_levels(cols, generator, G)
        S = self.sizes[0]
        rows = [F.interpolate(x, size=(S, S), mode="nearest") for x in levels]
        return torch.cat(rows), cols


@torch.no_grad()
def init_lapgan(model: LAPGAN, seed: int) -> None:
    """Seeded initialisation. Fully connected nets: N(0, 0.05) for G, N(0, 0.005) for D, as in the official code;
    convolutions: Torch's default, U(+-1/sqrt(fan_in)) (the official code keeps it; PyTorch's default is the same
    bound, drawn here from a seeded generator so that a model's weights depend on its seed alone)."""
    generator = torch.Generator().manual_seed(seed)
    for net, std in ((model.G.coarse, 0.05), (model.D[model.K], 0.005)):
        for m in net.modules():
            if isinstance(m, nn.Linear):
                m.weight.normal_(0, std, generator=generator)
                m.bias.zero_()
    fully_connected = {id(m) for net in (model.G.coarse, model.D[model.K]) for m in net.modules()}
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)) and id(m) not in fully_connected:
            bound = 1 / math.sqrt(m.weight[0].numel())
            m.weight.uniform_(-bound, bound, generator=generator)
            m.bias.uniform_(-bound, bound, generator=generator)
