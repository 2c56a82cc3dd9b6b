"""Reusable network blocks. No training logic lives here."""

from .build import make_discriminator, make_generator, packed
from .discriminators import DCGANDiscriminator, PatchDiscriminator, check_patch_size, receptive_field
from .efficientnet import EfficientNetLite0, FeatureNet, feature_net, load_lite0_weights
from .encoders import ConvEncoder
from .generators import DCGANGenerator, FCConvGenerator, ResnetGenerator, UNetGenerator
from .init import dcgan_init
from .mlp import MLPDiscriminator, MLPEncoder, MLPGenerator, MLPImageGenerator, UnitNormLinear
from .modes import frozen, inference, pad_to_multiple

__all__ = ["ConvEncoder", "DCGANDiscriminator", "DCGANGenerator", "EfficientNetLite0", "FCConvGenerator",
           "FeatureNet", "MLPDiscriminator", "MLPEncoder", "MLPGenerator", "MLPImageGenerator", "PatchDiscriminator",
           "ResnetGenerator", "UNetGenerator", "UnitNormLinear", "check_patch_size", "dcgan_init", "feature_net",
           "frozen", "inference", "load_lite0_weights", "make_discriminator", "make_generator", "packed",
           "pad_to_multiple", "receptive_field"]
