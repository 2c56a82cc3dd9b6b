"""PGGAN — Karras et al., "Progressive Growing of GANs for Improved Quality, Stability, and Variation", ICLR 2018.

G and D are built for the data's resolution from the start; a level buffer (0 = 4x4, L = log2(size) - 2 = the
data's size; k + alpha = fading in level k + 1 with weight alpha) says how much of them is in use. The level is a
pure function of the images shown (step x batch x n_critic), so a run resumed in the middle of a fade continues
exactly. In each phase the current resolution first trains alone (train_kimg thousand images), then the next one
fades in (fade_kimg); G's output is lerp(upscale(ToRGB_k(x)), ToRGB_k+1(block_k+1(x)), alpha), D's input path the
mirror image, and the real images are faded too: lerp(up(box(x)), x, alpha) at the new resolution. G's output is
always nearest-upscaled to the data's size, so samples, evaluation and export work at any moment.

Objective (official code, loss.py): WGAN-GP with a drift term,
    L_D = E[D(G(z))] - E[D(x)] + lambda E[(||grad D(x_hat)|| - gamma)^2] / gamma^2 + eps_drift E[D(x)^2]
    L_G = -E[D(G(z))]
lambda = 10, gamma = 1, eps_drift = 0.001, one critic step per G step, Adam lr 1e-3, betas (0, 0.99), whose
state is reset whenever floor(level) or ceil(level) changes (the start and the end of every fade), as in the
official code. Networks: equalized learning rate, pixelwise feature normalisation in G (and on z), minibatch
standard deviation in D's last block, leaky ReLU 0.2, linear output (no tanh); EMA of G (0.999) for sampling.
Widths: the paper's min(8192 / 2^stage, 512), i.e. 16384 / resolution capped at 512 (512 up to 32x32); the
`pggan-cpu` preset (128, 128, 64, 32 channels at 4..32, z 128, 15k + 15k images per phase) trains on 2 CPU cores.
"""

from __future__ import annotations

import copy
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from ..errors import ConfigError
from ..losses.adversarial import wasserstein_critic_loss, wasserstein_generator_loss
from ..losses.penalties import drift_penalty, gradient_penalty
from ..nn import frozen
from ..nn.progressive import (
    EqualizedConv2d,
    EqualizedLinear,
    MinibatchStddev,
    PixelNorm,
    downscale2d,
    init_equalized,
    upscale2d,
)
from ..registry import MODELS
from .base import AdamConfig, Batch, DataInfo, GANModel


@dataclass
class PGGANConfig(AdamConfig):
    name: str = "pggan"
    lr_G: float = 1e-3
    lr_D: float = 1e-3
    beta1: float = 0.0
    beta2: float = 0.99
    z_dim: int = 512
    # Feature maps at the data's resolution, doubling at each halving up to fmap_max. 0: the paper's widths,
    # 16384 / resolution (fmap_base 8192): 512 up to 32x32, 256 at 64x64, 128 at 128x128.
    base_channels: int = 0
    fmap_max: int = 512
    normalize_latents: bool = True  # pixel-normalise z
    pixelnorm: bool = True  # after every conv of G
    equalized_lr: bool = True  # False: the same layers with He-initialised stored weights (the paper's ablation)
    leak: float = 0.2
    mbstd_group: int = 4  # samples per minibatch-stddev group (official TF code); 0: the whole batch (the paper)
    start_res: int = 4  # the resolution growing starts from; the data's size = no growing (same networks)
    train_kimg: float = 800.0  # thousands of images a resolution trains alone in each phase
    fade_kimg: float = 800.0  # thousands of images over which the next resolution fades in
    fade_reals: bool = True
    reset_adam: bool = True  # Adam state cleared at the start and the end of each fade
    n_critic: int = 1
    lambda_gp: float = 10.0
    gp_target: float = 1.0  # gamma; the paper's CIFAR-10 run used 750
    drift: float = 0.001
    limits: ClassVar[dict] = {"z_dim": (1, None, "[]"), "base_channels": (0, None, "[]"), "fmap_max": (1, None, "[]"),
                              "leak": (0, 1, "[]"), "mbstd_group": (0, None, "[]"), "start_res": (4, None, "[]"),
                              "train_kimg": (0, None, "[]"), "fade_kimg": (0, None, "(]"),
                              "n_critic": (1, None, "[]"), "lambda_gp": (0, None, "[]"),
                              "gp_target": (0, None, "(]"), "drift": (0, None, "[]")}
    train_defaults: ClassVar[dict[str, Any]] = {"batch_size": 16, "ema_beta": 0.999}


@dataclass
class PGGANCPUConfig(PGGANConfig):
    """The same system sized for 2 CPU cores: about DCGAN-32's cost per image at 32x32."""

    name: str = "pggan-cpu"
    z_dim: int = 128
    base_channels: int = 32
    fmap_max: int = 128
    train_kimg: float = 15.0
    fade_kimg: float = 15.0


def level_at(images: int, start_level: int, last_level: int, train_kimg: float, fade_kimg: float) -> float:
    """The level in use after `images` images: whole numbers while a resolution trains alone, k + alpha while
    level k + 1 fades in (official train.py's lod, counted upwards)."""
    train, fade = train_kimg * 1000, fade_kimg * 1000
    phase, into = divmod(images, train + fade)
    return min(float(last_level), start_level + phase + max(into - train, 0.0) / fade)


def size_of(level: int) -> int:
    return 4 * 2 ** level


def lrelu(leak: float) -> nn.Module:
    return nn.LeakyReLU(leak)


class Growing(nn.Module):
    """Holds the growing level as a buffer (saved, copied into the EMA generator, exported) and hands the forward
    its value as a Python number, read back from the buffer only after the buffer changed: reading a GPU tensor
    waits for the GPU, and G and D read the level several times per step. A change is seen through the tensor's
    version counter (fill_, copy_, load_state_dict) or a new tensor (.to, assign): writes through `.data` or a
    collective are not, which is harmless here since every process holds the same level."""

    def __init__(self, last_level: int):
        super().__init__()
        self.last_level = last_level
        self.register_buffer("level", torch.tensor(float(last_level)))
        self._seen: tuple = (None, -1, 0.0)  # (the buffer, its version counter, its value)

    def set_level(self, level: float) -> None:
        self.level.fill_(level)
        if not self.level.is_inference():  # inference tensors keep no version counter: always read
            value = torch.tensor(level, dtype=self.level.dtype).item()  # rounded as stored, on the CPU
            self._seen = (self.level, self.level._version, value)

    def level_value(self) -> float:
        if self.level.is_inference():
            return float(self.level)
        buffer, version, value = self._seen
        if buffer is not self.level or version != self.level._version:  # loaded, moved or filled elsewhere
            value = float(self.level)
            self._seen = (self.level, self.level._version, value)
        return value


class ProgressiveGenerator(Growing):
    """z -> images at 4 * 2^L, of which levels 0..level are in use (the output nearest-upscaled to full size)."""

    def __init__(self, z_dim: int, channels: int, last_level: int, width: Callable[[int], int], leak: float,
                 pixelnorm: bool, normalize_latents: bool, equalized: bool):
        super().__init__(last_level)
        norm = PixelNorm if pixelnorm else nn.Identity
        self.latent_norm = PixelNorm() if normalize_latents else nn.Identity()
        c4 = width(4)
        # The official dense layer's gain sqrt(2)/4 ("to match the original Theano implementation").
        self.dense = EqualizedLinear(z_dim, c4 * 16, gain=math.sqrt(2) / 4, equalized=equalized)
        self.blocks = nn.ModuleList([nn.Sequential(
            lrelu(leak), norm(), EqualizedConv2d(c4, c4, 3, equalized=equalized), lrelu(leak), norm())])
        for level in range(1, last_level + 1):
            c_in, c = width(size_of(level - 1)), width(size_of(level))
            self.blocks.append(nn.Sequential(
                nn.Upsample(scale_factor=2, mode="nearest"),
                EqualizedConv2d(c_in, c, 3, equalized=equalized), lrelu(leak), norm(),
                EqualizedConv2d(c, c, 3, equalized=equalized), lrelu(leak), norm()))
        self.to_rgb = nn.ModuleList([EqualizedConv2d(width(size_of(level)), channels, 1, gain=1.0,
                                                     equalized=equalized) for level in range(last_level + 1)])

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        level = self.level_value()
        k, alpha = int(level), level - int(level)
        x = self.dense(self.latent_norm(z)).view(z.shape[0], -1, 4, 4)
        for block in self.blocks[:k + 1]:
            x = block(x)
        image = self.to_rgb[k](x)
        if alpha > 0:  # the next level fades in
            image = torch.lerp(upscale2d(image), self.to_rgb[k + 1](self.blocks[k + 1](x)), alpha)
            k += 1
        return upscale2d(image, 2 ** (self.last_level - k))


class ProgressiveDiscriminator(Growing):
    """Images at full size -> one score each; box-downscaled to the resolution in use first."""

    def __init__(self, channels: int, last_level: int, width: Callable[[int], int], leak: float, mbstd_group: int,
                 equalized: bool):
        super().__init__(last_level)
        self.from_rgb = nn.ModuleList([nn.Sequential(
            EqualizedConv2d(channels, width(size_of(level)), 1, equalized=equalized), lrelu(leak))
            for level in range(last_level + 1)])
        c4 = width(4)
        # blocks[0] is the last, 4x4 block; blocks[k] takes level k down to level k - 1.
        self.blocks = nn.ModuleList([nn.Sequential(
            MinibatchStddev(mbstd_group), EqualizedConv2d(c4 + 1, c4, 3, equalized=equalized), lrelu(leak),
            nn.Flatten(), EqualizedLinear(c4 * 16, width(2), equalized=equalized), lrelu(leak),
            EqualizedLinear(width(2), 1, gain=1.0, equalized=equalized))])
        for level in range(1, last_level + 1):
            c, c_out = width(size_of(level)), width(size_of(level - 1))
            self.blocks.append(nn.Sequential(
                EqualizedConv2d(c, c, 3, equalized=equalized), lrelu(leak),
                EqualizedConv2d(c, c_out, 3, equalized=equalized), lrelu(leak), nn.AvgPool2d(2)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        level = self.level_value()
        k, alpha = int(level), level - int(level)
        top = k + 1 if alpha > 0 else k
        x = downscale2d(x, 2 ** (self.last_level - top))
        h = self.from_rgb[top](x)
        if alpha > 0:  # the new level's path, blended with the old one's on the downscaled image
            h = torch.lerp(self.from_rgb[k](downscale2d(x)), self.blocks[top](h), alpha)
        for block in self.blocks[k::-1]:
            h = block(h)
        return h.view(-1)


def fade_reals(x: torch.Tensor, level: float, last_level: int) -> torch.Tensor:
    """Real images as D sees them at `level` (official train.py process_reals): box-downscaled to the resolution in
    use, blended with their own down-up version while it fades in, nearest-upscaled back to full size."""
    k, alpha = int(level), level - int(level)
    top = k + 1 if alpha > 0 else k
    x = downscale2d(x, 2 ** (last_level - top))
    if alpha > 0:
        x = torch.lerp(upscale2d(downscale2d(x)), x, alpha)
    return upscale2d(x, 2 ** (last_level - top))


@MODELS.register("pggan")
class PGGAN(GANModel):
    Config = PGGANConfig
    no_compile = {"D": "its gradient penalty needs a double backward, which compiled graphs do not support",
                  "G": "its forward reads the growing level (a buffer) to choose its path"}

    def __init__(self, cfg: PGGANConfig, info: DataInfo, init_seed: int = 0):
        super().__init__(cfg, info)
        if not info.is_image:
            raise ConfigError(f"{cfg.name} generates images; {info.name} is vector data")
        size = info.img_size
        if size < 4 or size & (size - 1):
            raise ConfigError(f"{cfg.name} needs a power-of-two data.img_size >= 4, got {size}")
        if cfg.start_res > size or cfg.start_res & (cfg.start_res - 1):
            raise ConfigError(f"model.start_res must be a power of two from 4 to data.img_size={size}, "
                              f"got {cfg.start_res}")
        self.last_level = int(math.log2(size)) - 2
        self.start_level = int(math.log2(cfg.start_res)) - 2

        def width(res: int) -> int:
            if cfg.base_channels == 0:
                return min(16384 // res, cfg.fmap_max)
            return min(cfg.base_channels * max(1, size // res), cfg.fmap_max)

        C, L = info.img_channels, self.last_level
        self.G = ProgressiveGenerator(cfg.z_dim, C, L, width, cfg.leak, cfg.pixelnorm, cfg.normalize_latents,
                                      cfg.equalized_lr)
        self.D = ProgressiveDiscriminator(C, L, width, cfg.leak, cfg.mbstd_group, cfg.equalized_lr)
        generator = torch.Generator().manual_seed(init_seed)
        init_equalized(self.G, generator)
        init_equalized(self.D, generator)
        self.set_level(self.level_at(0))

    # ----------------------------------------------------------------------------------- schedule

    def level_at(self, images: int) -> float:
        cfg = self.cfg
        return level_at(images, self.start_level, self.last_level, cfg.train_kimg, cfg.fade_kimg)

    def set_level(self, level: float) -> None:
        self.G.set_level(level)
        self.D.set_level(level)

    def check(self, train, n_images: int) -> None:
        group = self.cfg.mbstd_group
        if group and train.batch_size % min(group, train.batch_size):
            raise ConfigError(f"model.mbstd_group={group} needs train.batch_size divisible by it, "
                              f"got {train.batch_size}")
        print(self.schedule_text(train.batch_size, train.steps), file=sys.stderr)

    def phases(self, batch: int) -> list[tuple[str, int, int, int | None]]:
        """(what, the level whose networks it runs, first step, end step or None: the rest of the run) of each
        phase."""
        cfg, per_step = self.cfg, batch * self.cfg.n_critic
        train, fade = cfg.train_kimg * 1000, cfg.fade_kimg * 1000
        out, start = [], 0.0
        for level in range(self.start_level, self.last_level + 1):
            s = size_of(level)
            if level == self.last_level:
                out.append((f"{s}x{s}", level, math.ceil(start / per_step), None))
                break
            if train > 0:
                out.append((f"{s}x{s}", level, math.ceil(start / per_step), math.ceil((start + train) / per_step)))
            out.append((f"{2 * s}x{2 * s} fade-in", level + 1, math.ceil((start + train) / per_step),
                        math.ceil((start + train + fade) / per_step)))
            start += train + fade
        return out

    def schedule_text(self, batch: int, steps: int) -> str:
        """What each phase costs in steps, images and time (estimated from one timed step per level)."""
        phases = self.phases(batch)
        reached = {level for _, level, first, _ in phases if first < steps}  # only these are timed
        seconds = {level: self.seconds_per_step(level, batch) for level in sorted(reached)}
        per_step = batch * self.cfg.n_critic
        lines = [f"gankit: {self.cfg.name} phases (batch {batch}, {per_step} images per step, {steps:,} steps):"]
        for what, level, first, end in phases:
            if first >= steps:
                lines.append(f"  {what:15} from step {first:,}: not reached")
                continue
            stop = steps if end is None else min(end, steps)
            lines.append(f"  {what:15} steps {first:,}-{stop:,} (images {first * per_step:,}-{stop * per_step:,})"
                         f"  ~{seconds[level] * (stop - first) / 60:.1f} min at {seconds[level] * 1000:.0f} ms/step")
        final = self.level_at(steps * per_step)
        if final < self.last_level:
            s = size_of(int(final))
            lines.append(f"  the run ends at level {final:.2f} ({s}x{s}), before the data's size: its samples are "
                         "upscaled from there; raise train.steps for the full resolution")
        return "\n".join(lines)

    def seconds_per_step(self, level: int, batch: int) -> float:
        """One timed training step (after a warm-up one) of copies of the networks at `level` on random data. On a
        CPU, where time grows with the batch, a small batch is timed and scaled up, so the estimate stays cheap."""
        G, D = copy.deepcopy(self.G), copy.deepcopy(self.D)
        G.set_level(level)
        D.set_level(level)
        generator = self.seeded(0)
        size, C = self.info.img_size, self.info.img_channels
        full = batch
        if self.device.type == "cpu":
            batch = min(batch, self.cfg.mbstd_group or 4)  # a whole minibatch-stddev group
        elapsed = 0.0
        for _ in range(2):
            t0 = time.perf_counter()
            real = torch.randn(batch, C, size, size, generator=generator, device=self.device)
            fake = G(torch.randn(batch, self.cfg.z_dim, generator=generator, device=self.device))
            eps = torch.rand(batch, generator=generator, device=self.device)
            loss = (D(fake.detach()).mean() - D(real).mean()
                    + gradient_penalty(D, real, fake, eps) + D(real).square().mean())
            loss.backward()
            D(fake).mean().backward()
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
            elapsed = time.perf_counter() - t0
        return elapsed * self.cfg.n_critic * full / batch

    # ----------------------------------------------------------------------------------- training

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"G": self.adam(self.G, self.cfg.lr_G), "D": self.adam(self.D, self.cfg.lr_D)}

    def train_step(self, next_batch: Callable[[], Batch], step: int) -> dict[str, torch.Tensor]:
        cfg = self.cfg
        real = next_batch()["x"]
        per_step = real.shape[0] * self.dist.world * cfg.n_critic  # images D sees per step, all processes
        level = self.level_at(step * per_step)
        if cfg.reset_adam and step > 0:
            before = self.level_at((step - 1) * per_step)
            if (math.floor(before), math.ceil(before)) != (math.floor(level), math.ceil(level)):
                for opt in self.optimizers.values():
                    opt.state.clear()  # Adam's moments start again from zero, as at step 0
        self.set_level(level)
        level = self.G.level_value()  # the value the networks use (float32), for the reals too

        wasserstein = 0.0
        for i in range(cfg.n_critic):
            if i:
                real = next_batch()["x"]
            if cfg.fade_reals:
                real = fade_reals(real, level, self.last_level)
            with torch.no_grad():
                fake = self.G(self.randn(real.shape[0], cfg.z_dim))
            real_scores = self.D(real)
            adv = wasserstein_critic_loss(real_scores, self.D(fake))
            gp = gradient_penalty(self.D, real, fake, self.rand(real.shape[0]), self.input_gradient, cfg.gp_target)
            drift = drift_penalty(real_scores)
            loss_D = adv + cfg.lambda_gp * gp + cfg.drift * drift
            self.optimize("D", loss_D)
            wasserstein = wasserstein - adv.detach() / cfg.n_critic

        with frozen(self.D):
            loss_G = wasserstein_generator_loss(self.D(self.G(self.randn(real.shape[0], cfg.z_dim))))
        self.optimize("G", loss_G)

        return {"D/loss": loss_D.detach(), "D/gp": gp.detach(), "D/drift": drift.detach(), "G/loss": loss_G.detach(),
                "D/wasserstein": wasserstein, "level": self.G.level.clone()}


@MODELS.register("pggan-cpu")
class PGGANCPU(PGGAN):
    """`pggan` with the preset PGGANCPUConfig: same code, smaller widths and phases."""

    Config = PGGANCPUConfig
