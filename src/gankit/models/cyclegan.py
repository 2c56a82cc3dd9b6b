"""CycleGAN — Zhu et al., "Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial Networks", ICCV 2017.

Two generators G_AB: A -> B and G_BA: B -> A, two discriminators D_B (real B vs G_AB(A)) and D_A, on unpaired data:
    L = L_GAN(G_AB, D_B) + L_GAN(G_BA, D_A)
        + lambda_cycle * (||G_BA(G_AB(a)) - a||_1 + ||G_AB(G_BA(b)) - b||_1)          lambda_cycle = 10
        + lambda_identity * lambda_cycle * (||G_AB(b) - b||_1 + ||G_BA(a) - a||_1)     lambda_identity = 0.5
with the least-squares adversarial loss (Mao et al. 2017). The cycle terms make the two maps (near) inverses, so
an image cannot be translated into an arbitrary member of the other domain; the identity terms keep colours
when the input already looks like the target domain. Each D is shown a 50-image history of fakes (Shrivastava
et al. 2017) and its loss is halved, as in the paper.
Networks: ResNet generators (c7s1-64, d128, d256, 6 residual blocks for 128x128 and smaller, 9 for 256x256 and
larger, u128, u64, c7s1-3; reflection padding, instance norm), 70x70 PatchGAN discriminators with instance norm.
Optimiser: Adam 2e-4, betas (0.5, 0.999), batch 1; learning rate constant for the first half of the run and
decaying linearly to 0 over the second (the paper's 100 + 100 epochs).
Data: `unpaired:DIR` (trainA/, trainB/) or the built-in `mnist2digits`.
Use: `gankit translate RUN_OR_MODEL IMAGES... --out DIR [--direction BtoA]`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ArgumentError, ConfigError
from ..images import columns
from ..losses.adversarial import (
    bce_discriminator_loss,
    ls_discriminator_loss,
    ls_generator_loss,
    nonsaturating_generator_loss,
)
from ..nn import PatchDiscriminator, ResnetGenerator, check_patch_size, frozen
from ..registry import MODELS
from ..runtime.buffers import ImagePool
from .base import AdamConfig, Batch, DataInfo, GANModel


@dataclass
class CycleGANConfig(AdamConfig):
    name: str = "cyclegan"
    base_channels: int = 64
    d_base_channels: int = 64
    n_blocks: int | None = None  # residual blocks; None: 6 below 256x256, 9 from 256x256 (the paper)
    n_layers: int = 3  # PatchGAN depth: 3 -> 70x70 patches
    norm: Literal["instance", "batch"] = "instance"
    dropout: float = 0.0
    gan_loss: Literal["ls", "bce"] = "ls"
    lambda_cycle: float = 10.0
    lambda_identity: float = 0.5  # relative to lambda_cycle, as in the paper's code
    pool_size: int = 50
    default_data: ClassVar[str] = "mnist2digits"
    train_defaults: ClassVar[dict[str, Any]] = {"batch_size": 1, "lr_decay": "linear", "lr_decay_start": 0.5,
                                                "n_samples": 8}
    limits: ClassVar[dict] = {"base_channels": (1, None, "[]"), "d_base_channels": (1, None, "[]"),
                              "n_blocks": (0, 64, "[]"), "n_layers": (0, 8, "[]"), "dropout": (0, 1, "[)"),
                              "lambda_cycle": (0, None, "[]"), "lambda_identity": (0, None, "[]"),
                              "pool_size": (0, 100_000, "[]")}


@MODELS.register("cyclegan")
class CycleGAN(GANModel):
    Config = CycleGANConfig
    tasks = ("translate",)
    cpu_channels_last = False  # NHWC measured slower at 256x256, batch 1 (docs/benchmarks/speed.md)
    ema_target = None  # two generators; an EMA of one of them would be half a model

    def __init__(self, cfg: CycleGANConfig, info: DataInfo, init_seed: int = 0):
        super().__init__(cfg, info)
        if info.kind != "unpaired":
            raise ConfigError(f"cyclegan trains on two unpaired image domains (--data unpaired:DIR, mnist2digits); "
                              f"{info.name} is {'paired: try pix2pix' if info.kind else 'not translation data'}")
        if cfg.lambda_identity > 0 and info.in_channels != info.img_channels:
            raise ConfigError(f"the identity loss needs domains with the same channels (A has {info.in_channels}, "
                              f"B {info.img_channels}): --set model.lambda_identity=0")
        check_patch_size(info.img_size, cfg.n_layers)
        n_blocks = cfg.n_blocks if cfg.n_blocks is not None else (9 if info.img_size >= 256 else 6)
        ch_A, ch_B = info.in_channels, info.img_channels
        self.G_AB = ResnetGenerator(ch_A, ch_B, n_blocks, cfg.base_channels, cfg.norm, cfg.dropout)
        self.G_BA = ResnetGenerator(ch_B, ch_A, n_blocks, cfg.base_channels, cfg.norm, cfg.dropout)
        self.D_A = PatchDiscriminator(ch_A, cfg.d_base_channels, cfg.n_layers, cfg.norm)
        self.D_B = PatchDiscriminator(ch_B, cfg.d_base_channels, cfg.n_layers, cfg.norm)
        self.init_weights(init_seed, self.G_AB, self.G_BA, self.D_A, self.D_B)  # N(0, 0.02), as the paper's code
        self.pool_A, self.pool_B = ImagePool(cfg.pool_size), ImagePool(cfg.pool_size)

    def check(self, train, n_images: int) -> None:
        if train.ema_beta > 0:
            raise ConfigError("cyclegan keeps no EMA copy (it has two generators): leave train.ema_beta at 0")

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        # One optimizer per player, as in the paper's code: both generators together, both discriminators together.
        return {"G": self.adam(nn.ModuleList([self.G_AB, self.G_BA]), self.cfg.lr_G),
                "D": self.adam(nn.ModuleList([self.D_A, self.D_B]), self.cfg.lr_D)}

    def train_step(self, next_batch: Callable[[], Batch], step: int) -> dict[str, torch.Tensor]:
        cfg = self.cfg
        batch = next_batch()
        real_A, real_B = batch["A"], batch["B"]
        d_loss, g_loss = ((ls_discriminator_loss, ls_generator_loss) if cfg.gan_loss == "ls"
                          else (bce_discriminator_loss, nonsaturating_generator_loss))

        # G: both translations, both cycles, optionally both identities; the discriminators are frozen.
        fake_B = self.G_AB(real_A)
        fake_A = self.G_BA(real_B)
        cycle_A = F.l1_loss(self.G_BA(fake_B), real_A)
        cycle_B = F.l1_loss(self.G_AB(fake_A), real_B)
        with frozen(self.D_A, self.D_B):
            adv_AB = g_loss(self.D_B(fake_B))
            adv_BA = g_loss(self.D_A(fake_A))
        loss_G = adv_AB + adv_BA + cfg.lambda_cycle * (cycle_A + cycle_B)
        stats = {"G/adv_AB": adv_AB.detach(), "G/adv_BA": adv_BA.detach(), "G/cycle_A": cycle_A.detach(),
                 "G/cycle_B": cycle_B.detach()}
        if cfg.lambda_identity > 0:
            identity = F.l1_loss(self.G_AB(real_B), real_B) + F.l1_loss(self.G_BA(real_A), real_A)
            loss_G = loss_G + cfg.lambda_identity * cfg.lambda_cycle * identity
            stats["G/identity"] = identity.detach()
        self.optimize("G", loss_G)

        # D: real vs a mix of current and past fakes (the pools), each loss halved.
        n = real_A.shape[0]
        pooled_B = self.pool_B.query(fake_B.detach(), self.rand(n, 2))
        pooled_A = self.pool_A.query(fake_A.detach(), self.rand(n, 2))
        loss_D_B = 0.5 * d_loss(self.D_B(real_B), self.D_B(pooled_B))
        loss_D_A = 0.5 * d_loss(self.D_A(real_A), self.D_A(pooled_A))
        self.optimize("D", loss_D_A + loss_D_B)

        stats.update({"G/loss": loss_G.detach(), "D/A": loss_D_A.detach(), "D/B": loss_D_B.detach()})
        return stats

    # ---------------------------------------------------------------------- state the trainer saves

    def extra_state(self) -> dict[str, Any]:
        return {"pool_A": self.pool_A.state_dict(), "pool_B": self.pool_B.state_dict()}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self.pool_A.load_state_dict(state.get("pool_A", {}))
        self.pool_B.load_state_dict(state.get("pool_B", {}))

    # ------------------------------------------------------------------------------------------- use

    def translator(self, direction: str = "AtoB", target=None) -> tuple[nn.Module, int]:
        if target is not None:
            raise ArgumentError("target", "is for multi-domain models (stargan); cyclegan translates between its two "
                                          "domains")
        G = self.G_AB if direction == "AtoB" else self.G_BA
        return G, G.multiple

    def sample_grid(self, n, generator, G, data):
        """Rows of (A, G_AB(A), G_BA(G_AB(A)), B, G_BA(B), G_AB(G_BA(B))) for fixed training images."""
        batch = data()
        A, B = batch["A"], batch["B"]
        fake_B, fake_A = self.G_AB(A), self.G_BA(B)
        return columns(A, fake_B, self.G_BA(fake_B), B, fake_A, self.G_AB(fake_A))
