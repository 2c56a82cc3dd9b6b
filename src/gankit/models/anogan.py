"""AnoGAN — Schlegl et al., "Unsupervised Anomaly Detection with Generative Adversarial Networks to Guide Marker
Discovery", IPMI 2017; with the f-AnoGAN encoder (Schlegl et al., "f-AnoGAN: Fast unsupervised anomaly detection
with generative adversarial networks", Medical Image Analysis 2019).

A DCGAN learns the normal images only (train it on normal data: `data.exclude_classes` leaves classes out of a
labelled set). An image is then anomalous to the degree that no G(z) explains it. Two scorers:
- `latent` (AnoGAN): search z* = argmin_z (1 - lambda) ||x - G(z)||_1 + lambda ||f(x) - f(G(z))||_1 by gradient
  descent (Gamma = 500 Adam steps from z ~ N(0, I), every image of a batch at once), with f D's last hidden
  features and lambda = 0.1; the score is that objective at z*.
- `encoder` (f-AnoGAN's izi_f): an encoder E trained after the GAN, with G and D frozen, to minimise
  ||x - G(E(x))||^2 / n + kappa ||f(x) - f(G(E(x)))||^2 / n_f (kappa = 1); the score is the same expression in one
  forward pass.
Training: the first (1 - encoder_share) of the steps are DCGAN's (BCE, non-saturating G, Adam 2e-4, beta1 0.5),
the last `encoder_share` (default a quarter) train E alone, G and D frozen in eval mode (their batch-norm
statistics fixed). E is BiGAN's conv encoder (nn.ConvEncoder) to z.
Use: `gankit score RUN images --out scores.csv [--scorer latent] [--maps DIR] [--calibrate NORMAL_DIR]`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch

from ..errors import ConfigError, GankitError
from ..losses.adversarial import bce_discriminator_loss, nonsaturating_generator_loss
from ..nn import ConvEncoder, frozen, inference, make_discriminator, make_generator
from ..registry import MODELS
from .base import AdamNetsConfig, Batch, DataInfo, GANModel


@dataclass
class AnoGANConfig(AdamNetsConfig):
    name: str = "anogan"
    encoder_share: float = 0.25  # the last share of train.steps trains f-AnoGAN's encoder
    encoder_hidden: int = 1024
    kappa: float = 1.0  # f-AnoGAN: weight of the feature residual
    search_lambda: float = 0.1  # AnoGAN: weight of the feature (discrimination) residual
    search_steps: int = 500  # AnoGAN's Gamma
    search_lr: float = 0.05  # Adam on z
    scorer: Literal["encoder", "latent"] = "encoder"  # the default of `gankit score`
    train_defaults: ClassVar[dict[str, Any]] = {"batch_size": 64}
    limits: ClassVar[dict] = {"encoder_share": (0, 1, "()"), "encoder_hidden": (1, None, "[]"),
                              "kappa": (0, None, "[]"), "search_lambda": (0, 1, "[]"),
                              "search_steps": (0, 100_000, "[]"), "search_lr": (0, None, "(]")}


@MODELS.register("anogan")
class AnoGAN(GANModel):
    Config = AnoGANConfig
    tasks = ("sample", "score")

    def __init__(self, cfg: AnoGANConfig, info: DataInfo, init_seed: int = 0):
        super().__init__(cfg, info)
        if not info.is_image:
            raise ConfigError(f"anogan scores images; {info.name} is vector data")
        self.G = make_generator(info, cfg.z_dim, cfg.base_channels, cfg.g_width, cfg.g_depth)
        self.D = make_discriminator(info, cfg)
        self.E = ConvEncoder(info.img_size, info.img_channels, cfg.z_dim, cfg.base_channels, cfg.encoder_hidden,
                             cfg.leak)
        self.init_weights(init_seed, self.G, self.D, self.E)
        self.gan_steps: int | None = None  # set by check() from train.steps

    def check(self, train, n_images: int) -> None:
        self.gan_steps = round(train.steps * (1 - self.cfg.encoder_share))
        if self.gan_steps < 1:
            raise ConfigError(f"train.steps={train.steps} leaves no step for the GAN; use more steps")

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        cfg = self.cfg
        return {"D": self.adam(self.D, cfg.lr_D), "G": self.adam(self.G, cfg.lr_G), "E": self.adam(self.E, cfg.lr_G)}

    def train_step(self, next_batch: Callable[[], Batch], step: int) -> dict[str, torch.Tensor]:
        real = next_batch()["x"]
        if self.gan_steps is None or step < self.gan_steps:
            # Stage 1, DCGAN on the normal images.
            fake = self.G(self.randn(real.shape[0], self.cfg.z_dim))
            loss_D = bce_discriminator_loss(self.D(real), self.D(fake.detach()))
            self.optimize("D", loss_D)
            with frozen(self.D):
                loss_G = nonsaturating_generator_loss(self.D(fake))
            self.optimize("G", loss_G)
            return {"D/loss": loss_D.detach(), "G/loss": loss_G.detach()}

        # Stage 2, f-AnoGAN's izi_f: E learns to map images to the z that G turns back into them; G and D are
        # fixed, batch-norm statistics included.
        self.G.eval()
        self.D.eval()
        with frozen(self.G, self.D):
            loss_E = self.izi_f(real, self.E(real))
        self.optimize("E", loss_E.mean())
        return {"E/loss": loss_E.mean().detach()}

    # ----------------------------------------------------------------------------------------- scores

    def izi_f(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Per image: ||x - G(z)||^2 / n + kappa ||f(x) - f(G(z))||^2 / n_f (f-AnoGAN, eq. 5)."""
        rec = self.G(z)
        pixels = (x - rec).pow(2).flatten(1).mean(1)
        features = (self.D.features(x) - self.D.features(rec)).pow(2).flatten(1).mean(1)
        return pixels + self.cfg.kappa * features

    def search_objective(self, x: torch.Tensor, z: torch.Tensor, f_x: torch.Tensor) -> torch.Tensor:
        """Per image: (1 - lambda) ||x - G(z)||_1 + lambda ||f(x) - f(G(z))||_1 (AnoGAN, eqs. 3-5)."""
        rec = self.G(z)
        residual = (x - rec).abs().flatten(1).sum(1)
        discrimination = (f_x - self.D.features(rec)).abs().flatten(1).sum(1)
        lam = self.cfg.search_lambda
        return (1 - lam) * residual + lam * discrimination

    def latent_search(self, x: torch.Tensor, z0: torch.Tensor | None = None, steps: int | None = None
                      ) -> tuple[torch.Tensor, torch.Tensor]:
        """z* for each image of x (in [-1, 1]) by `steps` Adam steps on the search objective from `z0` (default: a
        draw seeded by 0), and the objective at z* (the AnoGAN score). The images are independent: G and D run in
        eval mode and Adam's statistics are per coordinate, so a batch searches as one image at a time would."""
        steps = self.cfg.search_steps if steps is None else steps
        with inference(self):
            f_x = self.D.features(x)
        if z0 is None:
            z0 = torch.randn(len(x), self.cfg.z_dim, generator=self.seeded(0), device=x.device)
        z = z0.to(x.device, torch.float32).clone().requires_grad_(True)
        opt = torch.optim.Adam([z], lr=self.cfg.search_lr)
        was_training = self.training
        self.eval()
        try:
            with frozen(self.G, self.D), torch.enable_grad():
                for _ in range(steps):
                    opt.zero_grad(set_to_none=True)
                    self.search_objective(x, z, f_x).sum().backward()
                    opt.step()
            with torch.no_grad():
                score = self.search_objective(x, z, f_x)
        finally:
            self.train(was_training)
        return z.detach(), score

    def anomaly_scores(self, x: torch.Tensor, scorer: str | None = None, z0: torch.Tensor | None = None
                       ) -> tuple[torch.Tensor, torch.Tensor]:
        """Images in [-1, 1] -> (scores, reconstructions G(z) in [-1, 1]) with the `encoder` or `latent` scorer
        (searching from z0)."""
        scorer = scorer or self.cfg.scorer
        if scorer == "latent":
            z, score = self.latent_search(x, z0)
        elif scorer == "encoder":
            with inference(self):
                z = self.E(x)
                score = self.izi_f(x, z)
        else:
            raise GankitError(f"unknown scorer '{scorer}'; valid: encoder, latent")
        with inference(self):
            return score, self.G(z)

    def residual_map(self, x: torch.Tensor, rec: torch.Tensor) -> torch.Tensor:
        """|x - G(z)| averaged over channels, (N, 1, H, W) in [0, 1] (images span [-1, 1]): where it is bright, G could
        not explain the image."""
        return (x - rec).abs().mean(1, keepdim=True) / 2
