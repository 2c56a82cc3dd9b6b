"""LSGAN — Mao et al., "Least Squares Generative Adversarial Networks", ICCV 2017.

Objective with the a-b-c coding a=0 (fake), b=1 (real), c=1 (what G wants D to say):
    D: min 1/2 E[(D(x) - 1)^2] + 1/2 E[D(G(z))^2]        G: min 1/2 E[(D(G(z)) - 1)^2]
The squared loss penalises fakes by their distance from the decision boundary, not only by their side of it,
so G keeps getting gradients after D has separated the sets (the vanishing-gradient problem of the sigmoid
cross-entropy). D outputs a raw score (no sigmoid). Networks: DCGAN convnets for images, MLPs for vectors.
Optimiser: Adam 2e-4, beta1 0.5, as the DCGAN baselines the paper compares against.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from ..losses.adversarial import ls_discriminator_loss, ls_generator_loss
from ..nn import frozen, make_discriminator, make_generator
from ..registry import MODELS
from .base import AdamNetsConfig, Batch, DataInfo, GANModel


@dataclass
class LSGANConfig(AdamNetsConfig):
    name: str = "lsgan"
    train_defaults: ClassVar[dict[str, Any]] = {"batch_size": 64}


@MODELS.register("lsgan")
class LSGAN(GANModel):
    Config = LSGANConfig

    def __init__(self, cfg: LSGANConfig, info: DataInfo, init_seed: int = 0):
        super().__init__(cfg, info)
        self.G = make_generator(info, cfg.z_dim, cfg.base_channels, cfg.g_width, cfg.g_depth)
        self.D = make_discriminator(info, cfg)
        self.init_weights(init_seed, self.G, self.D)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"G": self.adam(self.G, self.cfg.lr_G), "D": self.adam(self.D, self.cfg.lr_D)}

    def train_step(self, next_batch: Callable[[], Batch], step: int) -> dict[str, torch.Tensor]:
        real = next_batch()["x"]
        fake = self.G(self.randn(real.shape[0], self.cfg.z_dim))

        # D: regress real scores to b=1 and fake scores to a=0.
        loss_D = ls_discriminator_loss(self.D(real), self.D(fake.detach()))
        self.optimize("D", loss_D)

        # G: pull the fakes' scores to c=1.
        with frozen(self.D):
            loss_G = ls_generator_loss(self.D(fake))
        self.optimize("G", loss_G)

        return {"D/loss": loss_D.detach(), "G/loss": loss_G.detach()}
