"""WGAN-GP — Gulrajani et al., "Improved Training of Wasserstein GANs", NeurIPS 2017 (Algorithm 1).

Objective: the WGAN critic loss plus a gradient penalty instead of weight clipping,
    L_D = E[f(G(z))] - E[f(x)] + lambda * E[(||grad f(x_hat)||_2 - 1)^2],   x_hat = eps x + (1 - eps) G(z)
    L_G = -E[f(G(z))]
with lambda = 10, n_critic = 5, Adam lr 1e-4 with betas (0, 0.9). The penalty is per sample, so the critic has
no batch norm (the paper suggests layer norm or none; none here). D/wasserstein logs E[f(x)] - E[f(G(z))].
Networks: DCGAN convnets (critic without normalisation) for images, MLPs for vectors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from ..losses.adversarial import wasserstein_critic_loss, wasserstein_generator_loss
from ..losses.penalties import gradient_penalty
from ..nn import frozen, make_discriminator, make_generator
from ..registry import MODELS
from .base import AdamNetsConfig, Batch, DataInfo, GANModel


@dataclass
class WGANGPConfig(AdamNetsConfig):
    name: str = "wgan-gp"
    lr_G: float = 1e-4
    lr_D: float = 1e-4
    beta1: float = 0.0
    beta2: float = 0.9
    lambda_gp: float = 10.0
    n_critic: int = 5
    limits: ClassVar[dict] = {"lambda_gp": (0, None, "[]"), "n_critic": (1, None, "[]")}
    train_defaults: ClassVar[dict[str, Any]] = {"batch_size": 64}


@MODELS.register("wgan-gp")
class WGANGP(GANModel):
    Config = WGANGPConfig
    no_compile = {"D": "its gradient penalty needs a double backward, which compiled graphs do not support"}

    def __init__(self, cfg: WGANGPConfig, info: DataInfo, init_seed: int = 0):
        super().__init__(cfg, info)
        self.G = make_generator(info, cfg.z_dim, cfg.base_channels, cfg.g_width, cfg.g_depth)
        self.D = make_discriminator(info, cfg, norm=False)
        self.init_weights(init_seed, self.G, self.D)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"G": self.adam(self.G, self.cfg.lr_G), "D": self.adam(self.D, self.cfg.lr_D)}

    def train_step(self, next_batch: Callable[[], Batch], step: int) -> dict[str, torch.Tensor]:
        cfg = self.cfg
        wasserstein = 0.0
        for _ in range(cfg.n_critic):
            real = next_batch()["x"]
            with torch.no_grad():
                fake = self.G(self.randn(real.shape[0], cfg.z_dim))
            adv = wasserstein_critic_loss(self.D(real), self.D(fake))
            gp = gradient_penalty(self.D, real, fake, self.rand(real.shape[0]), self.input_gradient)
            loss_D = adv + cfg.lambda_gp * gp
            self.optimize("D", loss_D)
            wasserstein = wasserstein - adv.detach() / cfg.n_critic

        with frozen(self.D):
            loss_G = wasserstein_generator_loss(self.D(self.G(self.randn(real.shape[0], cfg.z_dim))))
        self.optimize("G", loss_G)

        return {"D/loss": loss_D.detach(), "D/gp": gp.detach(), "G/loss": loss_G.detach(),
                "D/wasserstein": wasserstein}
