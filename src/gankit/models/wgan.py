"""WGAN — Arjovsky, Chintala & Bottou, "Wasserstein GAN", ICML 2017 (Algorithm 1).

Objective: the critic f (D without a sigmoid) estimates the Wasserstein-1 distance,
    W(P_r, P_g) ~ max_{||f||_L <= K}  E[f(x)] - E[f(G(z))]
and G minimises it: min_G -E[f(G(z))]. The Lipschitz bound is enforced crudely by clipping every critic weight
to [-c, c] after each critic step, c = 0.01. The critic is trained n_critic = 5 times per generator step, each
time on a fresh real batch. RMSprop with lr 5e-5 (momentum-based optimisers were unstable in the paper).
The estimate E[f(x)] - E[f(G(z))] is logged as D/wasserstein: the paper's claim is that it tracks sample
quality. Networks: DCGAN convnets (with batch norm, as in the paper) for images, MLPs for vectors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from ..losses.adversarial import wasserstein_critic_loss, wasserstein_generator_loss
from ..losses.penalties import clip_weights
from ..nn import frozen, make_discriminator, make_generator
from ..registry import MODELS
from .base import Batch, DataInfo, GANModel, NetsConfig


@dataclass
class WGANConfig(NetsConfig):
    name: str = "wgan"
    lr_G: float = 5e-5
    lr_D: float = 5e-5
    clip: float = 0.01
    n_critic: int = 5
    limits: ClassVar[dict] = {"lr_G": (0, None, "(]"), "lr_D": (0, None, "(]"), "clip": (0, None, "(]"),
                              "n_critic": (1, None, "[]")}
    train_defaults: ClassVar[dict[str, Any]] = {"batch_size": 64}


@MODELS.register("wgan")
class WGAN(GANModel):
    Config = WGANConfig

    def __init__(self, cfg: WGANConfig, info: DataInfo, init_seed: int = 0):
        super().__init__(cfg, info)
        self.G = make_generator(info, cfg.z_dim, cfg.base_channels, cfg.g_width, cfg.g_depth)
        self.D = make_discriminator(info, cfg)
        self.init_weights(init_seed, self.G, self.D)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {
            "G": torch.optim.RMSprop(self.G.parameters(), lr=self.cfg.lr_G),
            "D": torch.optim.RMSprop(self.D.parameters(), lr=self.cfg.lr_D),
        }

    def train_step(self, next_batch: Callable[[], Batch], step: int) -> dict[str, torch.Tensor]:
        cfg = self.cfg
        wasserstein = 0.0
        for _ in range(cfg.n_critic):
            real = next_batch()["x"]
            with torch.no_grad():
                fake = self.G(self.randn(real.shape[0], cfg.z_dim))
            loss_D = wasserstein_critic_loss(self.D(real), self.D(fake))
            self.optimize("D", loss_D)
            clip_weights(self.D, cfg.clip)
            wasserstein = wasserstein - loss_D.detach() / cfg.n_critic

        with frozen(self.D):
            loss_G = wasserstein_generator_loss(self.D(self.G(self.randn(real.shape[0], cfg.z_dim))))
        self.optimize("G", loss_G)

        return {"D/loss": loss_D.detach(), "G/loss": loss_G.detach(), "D/wasserstein": wasserstein}
