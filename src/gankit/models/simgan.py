"""SimGAN — Shrivastava, Pfister, Tuzel, Susskind, Wang and Webb, "Learning from Simulated and Unsupervised Images
through Adversarial Training", CVPR 2017.

A refiner R makes synthetic images (whose labels are known from the simulator) look like real ones (which have no
labels) while keeping what they show, so that a model trained on the refined images works on real ones.
    R: conv3x3 64, ReLU -> 4 residual blocks (conv3x3 64, ReLU, conv3x3 64, + skip, ReLU) -> conv1x1 C (tanh)
    D: conv3x3 96 s2, conv3x3 64 s2, maxpool 3x3 s1, conv3x3 32, conv1x1 32, conv1x1 2 (ReLUs between; no
       normalisation). Its output is a map of two-class logits (real, refined), one per image patch of 23x23
       pixels (receptive field 3 -> 7 -> 15 -> 23): a local adversarial loss, so R cannot fix one region by
       spoiling another and every patch is judged on its own.
Losses, each averaged over the images of a batch:
    D: the cross-entropy of each patch, summed over the map (real images "real", refined images "refined").
    R: -log D_real(R(x)) summed over the map, plus lambda_reg * sum over pixels |R(x) - x| (self-regularisation in
       pixel space, images in [-1, 1]: R must keep the synthetic image's content, hence its label).
Both terms are sums over the image (patches, pixels), as in the paper's equations: lambda_reg then weighs a pixel
against a patch the same way at any image size (a 28x28 image has 49 patches and 784 pixels).
History (section 3.2): half of each D batch of refined images is current, half drawn from the last
`buffer_batches` batches' worth of refined images (runtime/buffers.py: HalfBatchHistory), saved with checkpoints.
Schedule (Algorithm 1): R pre-trained on self-regularisation alone for `pretrain_r` steps, then D alone for
`pretrain_d` steps, then each step is `kg` R updates and `kd` D updates, each on a fresh batch. SGD at 1e-3.

Data: `--data fontdigits --set data.real=mnist` (synthetic labelled, real unlabelled; data/refinement.py).
Use: `gankit refine RUN synthetic/ --out refined/` (names, class folders and label files kept).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch
from torch import nn

from ..config import ModelConfig
from ..errors import ConfigError
from ..images import columns
from ..losses.adversarial import patch_discriminator_loss, patch_generator_loss
from ..nn import frozen
from ..registry import MODELS
from ..runtime.buffers import HalfBatchHistory
from .base import Batch, DataInfo, GANModel


@dataclass
class SimGANConfig(ModelConfig):
    name: str = "simgan"
    width: int = 64
    blocks: int = 4
    out_act: Literal["tanh", "none"] = "tanh"
    lambda_reg: float = 0.1  # weight of sum |R(x) - x| over pixels against the summed patch cross-entropies
    buffer_batches: int = 100  # the history holds this many times half a batch of refined images (0: none)
    kg: int = 2  # R updates per step
    kd: int = 1  # D updates per step
    pretrain_r: int = 1000  # steps of R on self-regularisation alone
    pretrain_d: int = 200  # then steps of D alone
    optimizer: Literal["sgd", "adam"] = "sgd"
    lr_R: float = 1e-3
    lr_D: float = 1e-3
    d_global: bool = False  # ablation: one logit per image (the map's mean) instead of one per patch
    default_data: ClassVar[str] = "fontdigits"
    train_defaults: ClassVar[dict[str, Any]] = {"batch_size": 512, "n_samples": 32}
    limits: ClassVar[dict] = {"width": (1, None, "[]"), "blocks": (0, 64, "[]"), "lambda_reg": (0, None, "[]"),
                              "buffer_batches": (0, 10_000, "[]"), "kg": (1, 1000, "[]"), "kd": (1, 1000, "[]"),
                              "pretrain_r": (0, None, "[]"), "pretrain_d": (0, None, "[]"),
                              "lr_R": (0, None, "(]"), "lr_D": (0, None, "(]")}


class ResidualBlock(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.conv1 = nn.Conv2d(width, width, 3, padding=1)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.conv2(torch.relu(self.conv1(x))))


class Refiner(nn.Module):
    """Images in [-1, 1] -> refined images of the same size. Fully convolutional: any size."""

    def __init__(self, channels: int, width: int = 64, blocks: int = 4, out_act: str = "tanh"):
        super().__init__()
        self.head = nn.Conv2d(channels, width, 3, padding=1)
        self.blocks = nn.Sequential(*(ResidualBlock(width) for _ in range(blocks)))
        self.out = nn.Conv2d(width, channels, 1)
        self.out_act = out_act
        self.receptive_radius = 1 + 2 * blocks  # pixels an output sees on each side (tiling keeps this margin)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.out(self.blocks(torch.relu(self.head(x))))
        return torch.tanh(y) if self.out_act == "tanh" else y


class LocalDiscriminator(nn.Module):
    """(N, C, H, W) -> (N, 2, H/4, W/4) logits of (real, refined) per patch of 23x23 pixels."""

    RECEPTIVE_FIELD = 23

    def __init__(self, channels: int):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(channels, 96, 3, 2, 1), nn.ReLU(),
            nn.Conv2d(96, 64, 3, 2, 1), nn.ReLU(),
            nn.MaxPool2d(3, 1, 1),
            nn.Conv2d(64, 32, 3, 1, 1), nn.ReLU(),
            nn.Conv2d(32, 32, 1), nn.ReLU(),
            nn.Conv2d(32, 2, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """(N, h, w) logits of "real": the two-class softmax is a sigmoid of the difference."""
        out = self(x)
        return out[:, 0] - out[:, 1]


@MODELS.register("simgan")
class SimGAN(GANModel):
    Config = SimGANConfig
    ema_target = "R"
    tasks = ("refine",)

    def __init__(self, cfg: SimGANConfig, info: DataInfo, init_seed: int = 0):
        super().__init__(cfg, info)
        if info.kind != "refine":
            raise ConfigError(f"simgan refines synthetic images toward unlabelled real ones: give both, e.g. "
                              f"--data fontdigits --set data.real=mnist ({info.name} alone is one side)")
        self.R = Refiner(info.img_channels, cfg.width, cfg.blocks, cfg.out_act)
        self.D = LocalDiscriminator(info.img_channels)
        self.history = HalfBatchHistory(0)  # sized by check(), which knows the batch

    def check(self, train, n_images: int) -> None:
        half = train.batch_size // 2
        if half < 1:
            raise ConfigError("simgan shows D half current, half past refined images: train.batch_size must be at "
                              "least 2")
        self.history = HalfBatchHistory(self.cfg.buffer_batches * half)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        cfg = self.cfg
        if cfg.optimizer == "adam":
            return {"R": torch.optim.Adam(self.R.parameters(), lr=cfg.lr_R),
                    "D": torch.optim.Adam(self.D.parameters(), lr=cfg.lr_D)}
        return {"R": torch.optim.SGD(self.R.parameters(), lr=cfg.lr_R),
                "D": torch.optim.SGD(self.D.parameters(), lr=cfg.lr_D)}

    def phase(self, step: int) -> str:
        """'pretrain_R', 'pretrain_D' or 'adversarial': a pure function of the step, so resume is exact."""
        if step < self.cfg.pretrain_r:
            return "pretrain_R"
        return "pretrain_D" if step < self.cfg.pretrain_r + self.cfg.pretrain_d else "adversarial"

    def patch_logits(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.D.logits(x)
        return logits.mean((1, 2), keepdim=True) if self.cfg.d_global else logits

    def train_step(self, next_batch: Callable[[], Batch], step: int) -> dict[str, torch.Tensor]:
        phase = self.phase(step)
        stats: dict[str, torch.Tensor] = {}
        if phase != "pretrain_D":
            adversarial = phase == "adversarial"  # weight 0 while pre-training: self-regularisation alone
            for _ in range(self.cfg.kg if adversarial else 1):
                stats.update(self.refiner_step(next_batch(), adversarial))
        if phase != "pretrain_R":
            for _ in range(self.cfg.kd if phase == "adversarial" else 1):
                stats.update(self.discriminator_step(next_batch()))
        return stats

    def refiner_step(self, batch: Batch, adversarial: bool) -> dict[str, torch.Tensor]:
        x = batch["x"]
        refined = self.R(x)
        loss_reg = (refined - x).abs().flatten(1).sum(1).mean()
        loss = self.cfg.lambda_reg * loss_reg
        stats = {"R/reg": loss_reg.detach(), "R/change": (refined - x).abs().mean().detach() / 2}  # in [0, 1] units
        if adversarial:
            with frozen(self.D):
                loss_adv = patch_generator_loss(self.patch_logits(refined))
            loss = loss + loss_adv
            stats["R/adv"] = loss_adv.detach()
        self.optimize("R", loss)
        stats["R/loss"] = loss.detach()
        return stats

    def discriminator_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        x, real = batch["x"], batch["real"]
        half = len(x) // 2
        past = self.history.draw(half, self.rand(self.history.capacity))
        with torch.no_grad():
            current = self.R(x if past is None else x[:half])  # b current ones while the history fills
        refined = current if past is None else torch.cat([current, past])
        self.history.push(current[:half], self.rand(self.history.capacity))
        real_logits, fake_logits = self.patch_logits(real), self.patch_logits(refined)
        loss = patch_discriminator_loss(real_logits, fake_logits)
        self.optimize("D", loss)
        return {"D/loss": loss.detach(), "D/acc_real": (real_logits > 0).float().mean().detach(),
                "D/acc_refined": (fake_logits < 0).float().mean().detach()}

    def extra_state(self) -> dict[str, Any]:
        return {"history": self.history.state_dict()}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self.history.load_state_dict(state.get("history", {}))

    # ------------------------------------------------------------------------------------------- use

    def refiner(self) -> nn.Module:
        """The network from images in [-1, 1] to refined images of the same size, in [-1, 1]."""
        return self.R

    def sample_grid(self, n, generator, G, data):
        """Rows of (synthetic, refined, a real image) for fixed training images."""
        batch = data()
        x = batch["x"][:n]
        R = G if G is not None else self.R
        return columns(x, R(x).clamp(-1, 1), batch["real"][:n])
