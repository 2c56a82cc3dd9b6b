"""cGAN — Mirza & Osindero, "Conditional Generative Adversarial Nets", 2014.

Both players see the class label y:
    min_G max_D  E[log D(x | y)] + E[log(1 - D(G(z | y) | y))]
with G's non-saturating loss. As in the paper, y enters as a one-hot vector concatenated to the input: to z for
G, and for an image D as ten (or K) constant feature maps concatenated to the image channels (for vectors, to
the features). Fakes are drawn with labels sampled from the data's own label distribution (the real batch's
labels), so the class balance matches. Networks: DCGAN convnets for images, MLPs for vectors; Adam 2e-4, 0.5.
Use: `gankit sample RUN --label 3`; the sample grid has one row per class.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from ..errors import ConfigError
from ..losses.adversarial import bce_discriminator_loss, nonsaturating_generator_loss
from ..nn import frozen, make_discriminator, make_generator
from ..registry import MODELS
from .base import AdamNetsConfig, Batch, ByLabel, DataInfo, GANModel


@dataclass
class CGANConfig(AdamNetsConfig):
    name: str = "cgan"
    train_defaults: ClassVar[dict[str, Any]] = {"batch_size": 64}


@MODELS.register("cgan")
class CGAN(ByLabel, GANModel):
    Config = CGANConfig

    def __init__(self, cfg: CGANConfig, info: DataInfo, init_seed: int = 0):
        super().__init__(cfg, info)
        if info.num_classes < 2:
            raise ConfigError(f"cgan needs labelled data (class folders, digits, mnist, ...); {info.name} has none")
        K = info.num_classes
        self.G = make_generator(info, cfg.z_dim, cfg.base_channels, cfg.g_width, cfg.g_depth, cond_dim=K)
        self.D = make_discriminator(info, cfg, cond_dim=K)
        self.init_weights(init_seed, self.G, self.D)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"G": self.adam(self.G, self.cfg.lr_G), "D": self.adam(self.D, self.cfg.lr_D)}

    def onehot(self, y: torch.Tensor) -> torch.Tensor:
        return F.one_hot(y, self.info.num_classes).float()

    def with_label(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """D's input: the sample with the one-hot label appended as constant maps (images) or features."""
        c = self.onehot(y)
        if x.dim() == 4:
            c = c[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])
        return torch.cat([x, c], 1)

    def generate(self, n, generator=None, G=None, label: int | torch.Tensor | None = None):
        y = self.class_labels(n, label)
        z = torch.randn(n, self.cfg.z_dim, generator=generator or self.noise, device=self.device)
        return (G or self.G)(torch.cat([z, self.onehot(y)], 1))

    def train_step(self, next_batch: Callable[[], Batch], step: int) -> dict[str, torch.Tensor]:
        batch = next_batch()
        real, y = batch["x"], batch["label"]
        z = self.randn(real.shape[0], self.cfg.z_dim)
        fake = self.G(torch.cat([z, self.onehot(y)], 1))

        loss_D = bce_discriminator_loss(self.D(self.with_label(real, y)),
                                        self.D(self.with_label(fake.detach(), y)))
        self.optimize("D", loss_D)

        with frozen(self.D):
            loss_G = nonsaturating_generator_loss(self.D(self.with_label(fake, y)))
        self.optimize("G", loss_G)

        return {"D/loss": loss_D.detach(), "G/loss": loss_G.detach()}
