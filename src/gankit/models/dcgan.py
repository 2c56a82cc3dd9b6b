"""DCGAN — Radford, Metz & Chintala, "Unsupervised Representation Learning with Deep Convolutional
Generative Adversarial Networks", ICLR 2016.

Objective (the original GAN game with G's non-saturating loss):
    D: max  E[log D(x)] + E[log(1 - D(G(z)))]
    G: max  E[log D(G(z))]
Architecture: all-convolutional G and D, stride-2 (transposed) convs instead of pooling, batch norm in both
(not on G's output nor D's input), ReLU in G with tanh output, LeakyReLU(0.2) in D, weights from N(0, 0.02),
Adam lr 2e-4 with beta1 0.5, batch 128, z ~ U(-1, 1)^100 in the paper (N(0, 1) here, as its released code does).
Data: any image set, resized to a power of two (32 or 64); 1 or 3 channels.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from ..config import ModelConfig
from ..losses.adversarial import bce_discriminator_loss, nonsaturating_generator_loss
from ..nn import DCGANDiscriminator, DCGANGenerator, dcgan_init
from ..registry import MODELS
from .base import Batch, DataInfo, GANModel, frozen


@dataclass
class DCGANConfig(ModelConfig):
    name: str = "dcgan"
    z_dim: int = 100
    # Feature maps at the largest resolution; they double at each halving. The paper's figure uses 128 for
    # 64x64 images; its released code (and most reproductions) use 64, which trains well at a quarter the cost.
    base_channels: int = 64
    lr_G: float = 2e-4
    lr_D: float = 2e-4
    beta1: float = 0.5  # the paper found 0.9 oscillated
    beta2: float = 0.999
    leak: float = 0.2
    train_defaults: ClassVar[dict[str, Any]] = {"batch_size": 128}


@MODELS.register("dcgan")
class DCGAN(GANModel):
    Config = DCGANConfig

    def __init__(self, cfg: DCGANConfig, info: DataInfo, init_seed: int = 0):
        super().__init__(cfg, info)
        self.G = DCGANGenerator(cfg.z_dim, info.img_size, info.img_channels, cfg.base_channels)
        self.D = DCGANDiscriminator(info.img_size, info.img_channels, cfg.base_channels, leak=cfg.leak)
        init = torch.Generator().manual_seed(init_seed)
        dcgan_init(self.G, init)
        dcgan_init(self.D, init)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        cfg = self.cfg
        return {
            "G": torch.optim.Adam(self.G.parameters(), lr=cfg.lr_G, betas=(cfg.beta1, cfg.beta2)),
            "D": torch.optim.Adam(self.D.parameters(), lr=cfg.lr_D, betas=(cfg.beta1, cfg.beta2)),
        }

    def generate(self, n, generator=None, G=None):
        G = G or self.G
        z = torch.randn(n, self.cfg.z_dim, generator=generator or self.noise, device=self.device)
        return G(z)

    def train_step(self, next_batch: Callable[[], Batch], step: int) -> dict[str, torch.Tensor]:
        real = next_batch()["x"]
        z = self.randn(real.shape[0], self.cfg.z_dim)
        fake = self.G(z)

        # D: real -> 1, fake -> 0. fake is detached so this backward stops at D.
        loss_D = bce_discriminator_loss(self.D(real), self.D(fake.detach()))
        self.optimize("D", loss_D)

        # G: make D call the same fakes real. D is frozen so its .grad stays untouched.
        with frozen(self.D):
            loss_G = nonsaturating_generator_loss(self.D(fake))
        self.optimize("G", loss_G)

        return {"D/loss": loss_D.detach(), "G/loss": loss_G.detach()}
