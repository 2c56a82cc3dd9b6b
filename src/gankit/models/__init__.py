"""One file per system. Importing this package registers them all."""

from . import (  # noqa: F401  (registers the systems)
    anogan,
    bigan,
    cgan,
    cyclegan,
    dcgan,
    enhancenet,
    gan,
    infogan,
    lapgan,
    lsgan,
    pggan,
    pix2pix,
    simgan,
    stargan,
    triplegan,
    wgan,
    wgan_gp,
)
from .base import AdamNetsConfig, Batch, DataInfo, GANModel, NetsConfig

__all__ = ["AdamNetsConfig", "Batch", "DataInfo", "GANModel", "NetsConfig"]
