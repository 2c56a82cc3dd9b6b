"""Reusable network blocks. No training logic lives here."""

from .discriminators import DCGANDiscriminator
from .generators import DCGANGenerator
from .init import dcgan_init

__all__ = ["DCGANDiscriminator", "DCGANGenerator", "dcgan_init"]
