"""DCGAN — Radford, Metz & Chintala, "Unsupervised Representation Learning with Deep Convolutional
Generative Adversarial Networks", ICLR 2016.

DCGAN keeps the GAN game with G's non-saturating loss (see gan.py, whose training step it runs):
    D: max  E[log D(x)] + E[log(1 - D(G(z)))]        G: max  E[log D(G(z))]
Its contribution is the architecture (nn/generators.py, nn/discriminators.py): stride-2 (transposed) convs
instead of pooling, batch norm in both nets (not on G's output nor D's input), ReLU in G with a tanh output,
LeakyReLU(0.2) in D, weights from N(0, 0.02); and the optimiser: Adam lr 2e-4 with beta1 0.5, batch 128.
z ~ N(0, I)^100 (the paper draws it uniformly; its released code uses a normal). `pack` (PacGAN) is available.
Data: images of a power-of-two size (32 or 64), 1 or 3 channels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ..errors import ConfigError
from ..registry import MODELS
from .base import DataInfo
from .gan import GAN, GANConfig


@dataclass
class DCGANConfig(GANConfig):
    name: str = "dcgan"
    train_defaults: ClassVar[dict[str, Any]] = {"batch_size": 128}


@MODELS.register("dcgan")
class DCGAN(GAN):
    """The GAN game with the DCGAN architecture; only defaults and the image-only rule differ from `gan`."""

    Config = DCGANConfig

    def __init__(self, cfg: DCGANConfig, info: DataInfo, init_seed: int = 0):
        if not info.is_image:
            raise ConfigError(f"dcgan is a convolutional model for images; for {info.name} use 'gan'")
        super().__init__(cfg, info, init_seed)
