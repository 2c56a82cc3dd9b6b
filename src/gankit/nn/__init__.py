"""Reusable network blocks. No training logic lives here."""

from .build import make_discriminator, make_generator, packed
from .discriminators import DCGANDiscriminator
from .generators import DCGANGenerator
from .init import dcgan_init
from .mlp import MLPDiscriminator, MLPGenerator

__all__ = ["DCGANDiscriminator", "DCGANGenerator", "MLPDiscriminator", "MLPGenerator", "dcgan_init",
           "make_discriminator", "make_generator", "packed"]
