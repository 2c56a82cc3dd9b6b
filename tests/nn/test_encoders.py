"""FC-conv generator, conv and MLP encoders: shapes for several sizes, the InfoGAN paper's MNIST layers."""

import pytest
import torch
from torch import nn

from gankit.errors import ConfigError
from gankit.nn import ConvEncoder, FCConvGenerator, MLPDiscriminator, MLPEncoder, MLPImageGenerator


@pytest.mark.parametrize("size, channels", [(16, 1), (28, 1), (32, 3), (64, 3)])
def test_fc_conv_shapes(size, channels):
    G = FCConvGenerator(12, size, channels, base_channels=8, hidden=32)
    x = G(torch.randn(3, 12))
    assert x.shape == (3, channels, size, size) and x.abs().max() <= 1
    E = ConvEncoder(size, channels, 5, base_channels=8, hidden=32)
    assert E(x).shape == (3, 5) and E.features(x).shape == (3, 32) and E.features_dim == 32
    assert ConvEncoder(size, channels, 0, base_channels=8, hidden=32)(x).shape == (3, 32)  # no head: features


def test_infogan_paper_mnist_layers():
    """Appendix C.1: G: FC 1024, FC 7x7x128, up 64, up 1; D: conv 64 (no BN), conv 128 + BN, FC 1024 + BN."""
    G = FCConvGenerator(74, 28, 1)
    assert [m.out_features for m in G.modules() if isinstance(m, nn.Linear)] == [1024, 7 * 7 * 128]
    assert [m.out_channels for m in G.modules() if isinstance(m, nn.ConvTranspose2d)] == [64, 1]
    assert G.start == (128, 7, 7) and isinstance(G.up[-1], nn.Tanh)
    D = ConvEncoder(28, 1, 1)
    convs = [m for m in D.modules() if isinstance(m, nn.Conv2d)]
    assert [(m.out_channels, m.kernel_size, m.stride) for m in convs] == [(64, (4, 4), (2, 2)), (128, (4, 4), (2, 2))]
    assert isinstance(D.body[1], nn.LeakyReLU) and D.body[1].negative_slope == 0.1  # first conv: no batch norm
    assert isinstance(D.body[3], nn.BatchNorm2d)
    assert [m.out_features for m in D.modules() if isinstance(m, nn.Linear)] == [1024, 1]


def test_sizes_that_do_not_halve_are_refused():
    with pytest.raises(ConfigError, match="divisible by 4"):
        FCConvGenerator(8, 30, 1)
    with pytest.raises(ConfigError, match="divisible by 8"):
        ConvEncoder(36, 1, 1)  # 36 / 4 = 9 > 8 needs three halvings


def test_mlp_image_generator_and_encoder():
    G = MLPImageGenerator(10, 28, 1, width=64, depth=2)
    x = G(torch.randn(4, 10))
    assert x.shape == (4, 1, 28, 28) and x.abs().max() <= 1
    E = MLPEncoder(28 * 28, 10, width=64, depth=2, norm=True)
    assert E(x).shape == (4, 10) and E.features(x).shape == (4, 64)
    assert sum(isinstance(m, nn.BatchNorm1d) for m in E.modules()) == 1  # not on the first layer


def test_mlp_discriminator_keeps_its_layout():
    D = MLPDiscriminator(2, 16, 3)
    assert D(torch.randn(5, 2)).shape == (5,)
    assert list(D.state_dict()) == ["body.0.weight", "body.0.bias", "body.2.weight", "body.2.bias", "body.4.weight",
                                    "body.4.bias", "head.weight", "head.bias"]
