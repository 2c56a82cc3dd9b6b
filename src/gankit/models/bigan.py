"""BiGAN — Donahue, Krähenbühl & Darrell, "Adversarial Feature Learning", ICLR 2017 (and ALI, Dumoulin et al. 2017).

An encoder E: x -> z is learned with the generator G: z -> x. The discriminator judges pairs: real images with
their encodings (x, E(x)) against generated images with their noise (G(z), z):
    min_{G,E} max_D  E_x[log D(x, E(x))] + E_z[log(1 - D(G(z), z))]
At the optimum E and G invert each other. E and G are one player with one optimiser, trained on the game with the
labels swapped (the paper's non-saturating form: E pushes D(x, E(x)) to 0, G pushes D(G(z), z) to 1).
z ~ U(-1, 1)^50; E is deterministic (model.encoder=gaussian draws z = mu + sigma eps instead, as ALI).
Networks: `arch=mlp` (default) is the paper's permutation-invariant MNIST setting: G and E with two layers of 1024
units (batch norm, ReLU / LeakyReLU(0.2)), D with an x pathway (one layer) and a z pathway (one layer) whose
outputs are joined and judged by one more hidden layer; `arch=conv` uses FC-conv nets (InfoGAN's shape) for G, E
and D's x pathway, for photos and larger images.
Optimiser: Adam 2e-4, betas (0.5, 0.999), weight decay 2.5e-5, batch 128, learning rate decaying linearly to 0
over the second half (the paper's 200 + 200 epochs).
Use: `gankit encode RUN images --out codes.npy [--reconstruct grid.png]` (E(x), and x beside G(E(x))).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch
from torch import nn

from ..errors import ConfigError
from ..images import columns
from ..losses.adversarial import bce_discriminator_loss
from ..nn import ConvEncoder, FCConvGenerator, MLPEncoder, MLPImageGenerator, frozen
from ..registry import MODELS
from .base import AdamConfig, Batch, DataInfo, GANModel


@dataclass
class BiGANConfig(AdamConfig):
    name: str = "bigan"
    z_dim: int = 50  # U(-1, 1)
    arch: Literal["mlp", "conv"] = "mlp"
    width: int = 1024  # hidden units of the MLP layers (and of the conv nets' fully connected layer)
    depth: int = 2  # hidden layers of the MLP G and E
    base_channels: int = 64  # arch=conv
    leak: float = 0.2
    encoder: Literal["deterministic", "gaussian"] = "deterministic"
    weight_decay: float = 2.5e-5
    train_defaults: ClassVar[dict[str, Any]] = {"batch_size": 128, "lr_decay": "linear", "lr_decay_start": 0.5}
    limits: ClassVar[dict] = {"z_dim": (1, None, "[]"), "width": (1, None, "[]"), "depth": (1, 16, "[]"),
                              "base_channels": (1, None, "[]"), "leak": (0, 1, "[]"),
                              "weight_decay": (0, None, "[]")}


class JointDiscriminator(nn.Module):
    """D(x, z) -> one logit: x through its own pathway (`x_path`, a network with `features_dim` outputs), z
    through one fully connected layer, the two joined (concatenated) and judged by one hidden layer and a logit."""

    def __init__(self, x_path: nn.Module, z_dim: int, width: int, leak: float):
        super().__init__()
        self.x_path = x_path
        self.z_path = nn.Sequential(nn.Linear(z_dim, width), nn.LeakyReLU(leak, inplace=True))
        self.joint = nn.Sequential(nn.Linear(x_path.features_dim + width, width), nn.LeakyReLU(leak, inplace=True),
                                   nn.Linear(width, 1))

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.joint(torch.cat([self.x_path(x), self.z_path(z)], 1)).flatten()


@MODELS.register("bigan")
class BiGAN(GANModel):
    Config = BiGANConfig
    tasks = ("sample", "encode")
    cpu_channels_last = False  # NHWC measured slower at 32x32, batch 64 (docs/benchmarks/speed.md)

    def __init__(self, cfg: BiGANConfig, info: DataInfo, init_seed: int = 0):
        super().__init__(cfg, info)
        if not info.is_image:
            raise ConfigError(f"bigan encodes images; {info.name} is vector data")
        size, C = info.img_size, info.img_channels
        z_out = cfg.z_dim * (2 if cfg.encoder == "gaussian" else 1)  # a Gaussian E gives a mean and a log-std
        if cfg.arch == "mlp":
            self.G = MLPImageGenerator(cfg.z_dim, size, C, cfg.width, cfg.depth)
            self.E = MLPEncoder(C * size * size, z_out, cfg.width, cfg.depth, cfg.leak, norm=True)
            x_path = MLPEncoder(C * size * size, 0, cfg.width, 1, cfg.leak)
        else:
            self.G = FCConvGenerator(cfg.z_dim, size, C, cfg.base_channels, cfg.width)
            self.E = ConvEncoder(size, C, z_out, cfg.base_channels, cfg.width, cfg.leak)
            x_path = ConvEncoder(size, C, 0, cfg.base_channels, cfg.width, cfg.leak)
        self.D = JointDiscriminator(x_path, cfg.z_dim, cfg.width, cfg.leak)
        self.init_weights(init_seed, self.G, self.E, self.D)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        cfg = self.cfg
        return {"D": self.adam(self.D, cfg.lr_D, cfg.weight_decay),
                "EG": self.adam(nn.ModuleList([self.E, self.G]), cfg.lr_G, cfg.weight_decay)}

    def encoding(self, x: torch.Tensor, eps: torch.Tensor | None = None) -> torch.Tensor:
        """E(x); a Gaussian encoder's draw mu + sigma * eps (its mean when eps is None)."""
        out = self.E(x)
        if self.cfg.encoder == "deterministic":
            return out
        mean, log_std = out.chunk(2, 1)
        return mean if eps is None else mean + torch.exp(log_std.clamp(-10, 2)) * eps

    def train_step(self, next_batch: Callable[[], Batch], step: int) -> dict[str, torch.Tensor]:
        cfg = self.cfg
        real = next_batch()["x"]
        n = real.shape[0]
        z = self.rand(n, cfg.z_dim) * 2 - 1
        fake = self.G(z)
        z_real = self.encoding(real, self.randn(n, cfg.z_dim) if cfg.encoder == "gaussian" else None)

        # D: (x, E(x)) -> 1, (G(z), z) -> 0.
        loss_D = bce_discriminator_loss(self.D(real, z_real.detach()), self.D(fake.detach(), z))
        self.optimize("D", loss_D)

        # E and G: the same game with the labels swapped, so each gets strong gradients while D wins.
        with frozen(self.D):
            loss_EG = bce_discriminator_loss(self.D(fake, z), self.D(real, z_real))
        self.optimize("EG", loss_EG)

        return {"D/loss": loss_D.detach(), "EG/loss": loss_EG.detach()}

    # ----------------------------------------------------------------------------------------- use

    def generate(self, n, generator=None, G=None):
        z = torch.rand(n, self.cfg.z_dim, generator=generator or self.noise, device=self.device) * 2 - 1
        return (G or self.G)(z)

    def sample_grid(self, n, generator, G, data):
        """Samples G(z), then pairs of training images and their reconstructions G(E(x)), 8 to a row."""
        samples = self.generate(n, generator, G)
        x = data()["x"]
        pairs, _ = columns(x, self.decode_batch(self.encode_batch(x), G))
        return torch.cat([samples[:max(8, n - len(pairs)) // 8 * 8], pairs]), 8

    def code_names(self) -> list[str]:
        return [f"z{i}" for i in range(self.cfg.z_dim)]

    def encode_batch(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoding(x)

    def decode_batch(self, codes: torch.Tensor, G: nn.Module | None = None) -> torch.Tensor:
        return (G or self.G)(codes)
