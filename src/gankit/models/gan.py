"""GAN — Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014; with PacGAN packing (Lin et al. 2018).

Objective, the two-player minimax game:
    min_G max_D  E_x[log D(x)] + E_z[log(1 - D(G(z)))]
G's loss is either the game's own `minimax` one, log(1 - D(G(z))), whose gradient vanishes while D easily
rejects the fakes (the paper's section 3), or the `nonsaturating` one it recommends in practice, -log D(G(z)).
Networks: MLPs for vector data (the PacGAN 2-D setting: G 4x400 ReLU+BN, D 3x200), DCGAN convnets for images.
`pack` > 1 makes D judge `pack` samples at once (PacGAN), the paper's remedy for mode collapse.
Optimiser: Adam 2e-4, betas (0.5, 0.999) (the paper used SGD with momentum; Adam is what its successors use).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch

from ..errors import ConfigError
from ..losses.adversarial import bce_discriminator_loss, minimax_generator_loss, nonsaturating_generator_loss
from ..nn import frozen, make_discriminator, make_generator, packed
from ..registry import MODELS
from .base import AdamNetsConfig, Batch, DataInfo, GANModel


@dataclass
class GANConfig(AdamNetsConfig):
    name: str = "gan"
    g_loss: Literal["nonsaturating", "minimax"] = "nonsaturating"
    pack: int = 1  # PacGAN: samples per discriminator input (2..4 in the paper)
    train_defaults: ClassVar[dict[str, Any]] = {"batch_size": 64}

    limits: ClassVar[dict] = {"pack": (1, 16, "[]")}


@MODELS.register("gan")
class GAN(GANModel):
    Config = GANConfig

    def __init__(self, cfg: GANConfig, info: DataInfo, init_seed: int = 0):
        super().__init__(cfg, info)
        self.G = make_generator(info, cfg.z_dim, cfg.base_channels, cfg.g_width, cfg.g_depth)
        self.D = make_discriminator(info, cfg, pack=cfg.pack)
        self.init_weights(init_seed, self.G, self.D)

    def check(self, train, n_images: int) -> None:
        if train.batch_size % self.cfg.pack:
            raise ConfigError(f"model.pack={self.cfg.pack} needs train.batch_size divisible by {self.cfg.pack}, "
                              f"got {train.batch_size}")

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"G": self.adam(self.G, self.cfg.lr_G), "D": self.adam(self.D, self.cfg.lr_D)}

    def train_step(self, next_batch: Callable[[], Batch], step: int) -> dict[str, torch.Tensor]:
        pack = self.cfg.pack
        real = next_batch()["x"]
        fake = self.G(self.randn(real.shape[0], self.cfg.z_dim))

        # D: real -> 1, fake -> 0 (fake detached: this backward stops at D).
        loss_D = bce_discriminator_loss(self.D(packed(real, pack)), self.D(packed(fake.detach(), pack)))
        self.optimize("D", loss_D)

        # G: fool the updated D; D is frozen so its .grad stays untouched.
        with frozen(self.D):
            fake_logits = self.D(packed(fake, pack))
        if self.cfg.g_loss == "minimax":
            loss_G = minimax_generator_loss(fake_logits)
        else:
            loss_G = nonsaturating_generator_loss(fake_logits)
        self.optimize("G", loss_G)

        return {"D/loss": loss_D.detach(), "G/loss": loss_G.detach()}
