"""pix2pix — Isola et al., "Image-to-Image Translation with Conditional Adversarial Networks", CVPR 2017.

Objective, for paired data (x = input "A", y = target "B"):
    G* = arg min_G max_D  L_cGAN(G, D) + lambda_L1 * E[||y - G(x)||_1],   lambda_L1 = 100
    L_cGAN = E[log D(x, y)] + E[log(1 - D(x, G(x)))]
D is a conditional PatchGAN: it sees the input and an output stacked as channels and says real/fake for every
70x70 patch (n_layers=3; 1, 16, 34, 70, 142, 286 pixels for n_layers 0..5); its loss is halved, as in the paper,
to slow it relative to G. G is a U-Net (U-Net-256 for 256x256: 8 downsamplings; one fewer per halving of the
image) whose only noise source is dropout. lambda_GAN=0 trains the L1-only baseline of the paper's ablation
(D is then not updated at all).
Optimiser: Adam 2e-4, betas (0.5, 0.999), batch 1, learning rate constant for the first half of the run and
decaying linearly to 0 over the second (the code's 100 + 100 epochs). Normalisation: batch norm (the paper; with
batch 1 it normalises over one image's pixels) or instance norm.
At test time the paper keeps dropout on and normalises with the test batch's own statistics
(`test_mode: paper`, one image per forward); `test_mode: eval` uses dropout off and running statistics.
Data: `paired:DIR` (A|B side by side, or A/ and B/), or the built-in `colorize` and `edges` photo tasks.
Use: `gankit translate RUN_OR_MODEL IMAGES... --out DIR`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F
from torch import nn

from ..config import from_dict
from ..errors import ArgumentError, ConfigError
from ..images import columns
from ..losses.adversarial import (
    bce_discriminator_loss,
    ls_discriminator_loss,
    ls_generator_loss,
    nonsaturating_generator_loss,
)
from ..nn import PatchDiscriminator, UNetGenerator, check_patch_size, frozen, inference
from ..registry import MODELS
from .base import AdamConfig, Batch, DataInfo, GANModel


@dataclass
class Pix2PixConfig(AdamConfig):
    name: str = "pix2pix"
    base_channels: int = 64  # G's first layer (the paper's C64); doubling up to 8x
    d_base_channels: int = 64
    depth: int | None = None  # U-Net downsamplings; None: log2(img_size), at most 8 (U-Net-256)
    n_layers: int = 3  # PatchGAN depth: 3 -> 70x70 patches
    norm: Literal["batch", "instance"] = "batch"
    dropout: float = 0.5
    gan_loss: Literal["bce", "ls"] = "bce"  # the paper's cross-entropy; "ls": least squares (the CycleGAN choice)
    lambda_GAN: float = 1.0
    lambda_L1: float = 100.0
    test_mode: Literal["paper", "eval"] = "paper"
    default_data: ClassVar[str] = "edges"
    train_defaults: ClassVar[dict[str, Any]] = {"batch_size": 1, "lr_decay": "linear", "lr_decay_start": 0.5,
                                                "n_samples": 8}
    limits: ClassVar[dict] = {"base_channels": (1, None, "[]"), "d_base_channels": (1, None, "[]"),
                              "depth": (1, 12, "[]"), "n_layers": (0, 8, "[]"), "dropout": (0, 1, "[)"),
                              "lambda_GAN": (0, None, "[]"), "lambda_L1": (0, None, "[]")}


def unet_depth(img_size: int, depth: int | None) -> int:
    """The paper's U-Net-256 has 8 downsamplings (256 -> 1); smaller images get one fewer per halving."""
    return depth if depth is not None else max(1, min(8, int(math.log2(img_size))))


@MODELS.register("pix2pix")
class Pix2Pix(GANModel):
    Config = Pix2PixConfig
    tasks = ("translate",)
    cpu_channels_last = False  # NHWC measured slower at 256x256, batch 1 (docs/benchmarks/speed.md)

    def __init__(self, cfg: Pix2PixConfig, info: DataInfo, init_seed: int = 0):
        super().__init__(cfg, info)
        if info.kind != "paired":
            raise ConfigError(f"pix2pix trains on paired images (--data paired:DIR, colorize, edges); "
                              f"{info.name} is {'unpaired: try cyclegan' if info.kind else 'not translation data'}")
        depth = unet_depth(info.img_size, cfg.depth)
        if info.img_size % 2**depth:
            raise ConfigError(f"pix2pix with model.depth={depth} needs data.img_size to be a multiple of "
                              f"{2**depth}, got {info.img_size}")
        check_patch_size(info.img_size, cfg.n_layers)
        self.G = UNetGenerator(info.in_channels, info.img_channels, depth, cfg.base_channels, cfg.norm, cfg.dropout)
        self.D = PatchDiscriminator(info.in_channels + info.img_channels, cfg.d_base_channels, cfg.n_layers,
                                    cfg.norm)
        self.init_weights(init_seed, self.G, self.D)  # the paper: N(0, 0.02), as DCGAN

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"G": self.adam(self.G, self.cfg.lr_G), "D": self.adam(self.D, self.cfg.lr_D)}

    def train_step(self, next_batch: Callable[[], Batch], step: int) -> dict[str, torch.Tensor]:
        cfg = self.cfg
        batch = next_batch()
        real_A, real_B = batch["A"], batch["B"]
        fake_B = self.G(real_A)
        d_loss, g_loss = ((ls_discriminator_loss, ls_generator_loss) if cfg.gan_loss == "ls"
                          else (bce_discriminator_loss, nonsaturating_generator_loss))
        stats = {}

        # D: (A, real B) -> real, (A, G(A)) -> fake on every patch; halved to slow D down (the paper).
        if cfg.lambda_GAN > 0:
            loss_D = 0.5 * d_loss(self.D(torch.cat([real_A, real_B], 1)),
                                  self.D(torch.cat([real_A, fake_B.detach()], 1)))
            self.optimize("D", loss_D)
            stats["D/loss"] = loss_D.detach()

        # G: fool D on every patch and stay close to the target in L1.
        loss_L1 = F.l1_loss(fake_B, real_B)
        loss_G = cfg.lambda_L1 * loss_L1
        if cfg.lambda_GAN > 0:
            with frozen(self.D):
                loss_adv = g_loss(self.D(torch.cat([real_A, fake_B], 1)))
            loss_G = loss_G + cfg.lambda_GAN * loss_adv
            stats["G/adv"] = loss_adv.detach()
        self.optimize("G", loss_G)
        stats["G/L1"] = loss_L1.detach()
        stats["G/loss"] = loss_G.detach()
        return stats

    # ------------------------------------------------------------------------------------------- use

    def translator(self, direction: str = "AtoB", target=None) -> tuple[nn.Module, int]:
        """The network that maps the input domain to the output one, and the multiple its sizes need."""
        if target is not None:
            raise ArgumentError("target", "is for multi-domain models (stargan); pix2pix translates one way")
        if direction != "AtoB":
            raise ArgumentError("direction", "must be AtoB: pix2pix translates one way, from the input domain it was "
                                             "trained on (A; with data.direction=BtoA that was the B folder)")
        return (PaperTestMode(self.G) if self.cfg.test_mode == "paper" else self.G), self.G.multiple

    def set_test_mode(self, mode: str) -> None:
        # Checked by the config's own rules (the field's Literal), not a second list of the choices.
        self.cfg.test_mode = from_dict(type(self.cfg), {"test_mode": mode}, "model").test_mode

    def sample_grid(self, n, generator, G, data):
        """Rows of (input, output, target) for fixed training pairs, in the test mode `gankit translate` will use
        (its dropout drawn from seed 0, as translate's default)."""
        batch = data()
        A, B = batch["A"], batch["B"]
        net, _ = self.translator()
        with torch.random.fork_rng(devices=[A.device] if A.device.type == "cuda" else []), inference(net):
            torch.manual_seed(0)
            return columns(A, net(A), B)


class PaperTestMode(nn.Module):
    """pix2pix's G as the paper runs it at test time (Isola et al. 2017, section 3.3): dropout on, and batch norm
    with each image's own statistics (one image per forward). The running statistics are left untouched. This is
    what `translator()` returns in model.test_mode=paper; its eval()/train() leave G's modes to the forward."""

    def __init__(self, G: nn.Module):
        super().__init__()
        self.G = G

    def train(self, mode: bool = True) -> PaperTestMode:
        self.training = mode
        return self

    def convolutions(self) -> nn.Module:
        """The network itself, for measuring how far it sees (nn/tiling.py)."""
        return self.G

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        norms = [m for m in self.G.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        saved = [(m.momentum, m.num_batches_tracked.clone() if m.num_batches_tracked is not None else None)
                 for m in norms]
        was_training = self.G.training
        self.G.train()
        for m in norms:
            m.momentum = 0.0
        try:
            with torch.no_grad():
                return torch.cat([self.G(x[i:i + 1]) for i in range(len(x))])
        finally:
            for m, (momentum, tracked) in zip(norms, saved):
                m.momentum = momentum
                if tracked is not None:
                    m.num_batches_tracked.copy_(tracked)
            self.G.train(was_training)
