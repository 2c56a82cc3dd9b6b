"""Reusable network blocks. No training logic lives here."""

from .build import make_discriminator, make_generator, packed
from .discriminators import DCGANDiscriminator, PatchDiscriminator, check_patch_size, receptive_field
from .generators import DCGANGenerator, ResnetGenerator, UNetGenerator
from .init import dcgan_init
from .mlp import MLPDiscriminator, MLPGenerator

__all__ = ["DCGANDiscriminator", "DCGANGenerator", "MLPDiscriminator", "MLPGenerator", "PatchDiscriminator",
           "ResnetGenerator", "UNetGenerator", "check_patch_size", "dcgan_init", "make_discriminator",
           "make_generator", "packed", "receptive_field"]
