"""One file per system. Importing this package registers them all."""

from . import anogan, bigan, cgan, cyclegan, dcgan, gan, infogan, lsgan, pix2pix, triplegan, wgan, wgan_gp  # noqa: F401
from .base import AdamNetsConfig, Batch, DataInfo, GANModel, NetsConfig, frozen

__all__ = ["AdamNetsConfig", "Batch", "DataInfo", "GANModel", "NetsConfig", "frozen"]
