import pytest
import torch

from gankit.errors import GankitError
from gankit.models import DataInfo
from gankit.models.base import NetsConfig
from gankit.nn import make_discriminator, make_generator, packed


def test_packed_concatenates_consecutive_samples():
    x = torch.arange(4 * 2 * 3 * 3, dtype=torch.float32).view(4, 2, 3, 3)
    p = packed(x, 2)
    assert p.shape == (2, 4, 3, 3)
    assert torch.equal(p[1, :2], x[2]) and torch.equal(p[1, 2:], x[3])
    v = torch.arange(6.0).view(3, 2)
    assert packed(v, 3).tolist() == [[0.0, 1.0, 2.0, 3.0, 4.0, 5.0]]
    with pytest.raises(GankitError, match="divisible"):
        packed(v, 2)


@pytest.mark.parametrize("pack", [1, 2, 4])
def test_packed_discriminator_shapes(pack):
    img = DataInfo("t", 16, 3)
    D = make_discriminator(img, NetsConfig(base_channels=8), pack=pack)
    assert D(packed(torch.randn(8, 3, 16, 16), pack)).shape == (8 // pack,)
    vec = DataInfo("v", 0, 0, dim=2)
    D = make_discriminator(vec, NetsConfig(d_width=32, d_depth=2), pack=pack)
    assert D(packed(torch.randn(8, 2), pack)).shape == (8 // pack,)
    assert make_generator(vec, 2, 0, 32, 2)(torch.randn(5, 2)).shape == (5, 2)


def test_unit_norm_linear_ignores_the_scale_of_its_weights():
    from gankit.nn import UnitNormLinear

    torch.manual_seed(0)
    layer = UnitNormLinear(6, 3)
    x = torch.randn(4, 6)
    y = layer(x)
    with torch.no_grad():
        layer.weight.mul_(torch.tensor([[5.0], [0.1], [2.0]]))  # each unit's weights rescaled differently
    assert torch.allclose(layer(x), y, atol=1e-5)
    direction = layer.weight / layer.weight.norm(dim=1, keepdim=True)
    assert torch.allclose(y, x @ direction.T + layer.bias, atol=1e-5)


def test_dcgan_init_leaves_weight_normalised_layers_their_own_initialisation():
    from torch import nn

    from gankit.nn import UnitNormLinear, dcgan_init

    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(200, 100), UnitNormLinear(100, 100, learn_scale=True))
    own = net[1].weight.clone()
    dcgan_init(net, torch.Generator().manual_seed(1))
    assert torch.equal(net[1].weight, own) and torch.equal(net[1].scale, torch.ones(100))
    assert abs(float(net[1].weight.detach().std()) - 0.1) < 0.01  # N(0, 0.1) directions, not DCGAN's N(0, 0.02)
    assert abs(float(net[0].weight.detach().std()) - 0.02) < 0.002  # the plain layer does get DCGAN's


def test_unit_norm_linear_with_a_learned_scale_is_weight_normalisation():
    from gankit.nn import UnitNormLinear

    torch.manual_seed(0)
    layer = UnitNormLinear(6, 3, learn_scale=True)
    assert layer.scale.requires_grad and torch.equal(layer.scale, torch.ones(3))
    x = torch.randn(4, 6)
    with torch.no_grad():
        layer.weight.mul_(7.0)  # the stored norm still does not count ...
        layer.scale.copy_(torch.tensor([2.0, 0.5, 1.0]))  # ... the learned one does, per unit
    direction = layer.weight / layer.weight.norm(dim=1, keepdim=True)
    expected = x @ (direction * torch.tensor([[2.0], [0.5], [1.0]])).T + layer.bias
    assert torch.allclose(layer(x), expected, atol=1e-5)
    layer(x).sum().backward()
    assert layer.scale.grad is not None and "scale" in layer.state_dict()
    assert "scale" not in UnitNormLinear(6, 3).state_dict()


def test_maxout_units_take_the_largest_of_their_pieces():
    from gankit.nn.mlp import MaxoutLinear

    torch.manual_seed(0)
    layer = MaxoutLinear(3, 4, pieces=5)
    x = torch.randn(6, 3)
    pieces = layer.linear(x).view(6, 4, 5)  # unit j's pieces are outputs 5j .. 5j+4
    assert torch.equal(layer(x), pieces.max(-1).values)
    # each output is the max of its own pieces: raising one piece's bias moves exactly one unit
    with torch.no_grad():
        layer.linear.bias[7] += 100.0  # unit 1, piece 2
    y = layer(x)
    assert torch.allclose(y[:, 1], pieces[:, 1, 2] + 100.0)
    assert torch.equal(y[:, [0, 2, 3]], pieces.max(-1).values[:, [0, 2, 3]])


def test_mlp_discriminator_with_maxout_units():
    from gankit.nn.mlp import MaxoutLinear

    vec = DataInfo("v", 0, 0, dim=2)
    D = make_discriminator(vec, NetsConfig(d_width=32, d_depth=3, d_maxout=5), pack=2)
    assert sum(isinstance(m, MaxoutLinear) for m in D.modules()) == 3
    assert not any(isinstance(m, torch.nn.LeakyReLU) for m in D.modules())
    assert D(packed(torch.randn(8, 2), 2)).shape == (4,)
    img = DataInfo("t", 16, 3)  # conv nets have no maxout option: unchanged
    conv_D = make_discriminator(img, NetsConfig(base_channels=8, d_maxout=5))
    assert not any(isinstance(m, MaxoutLinear) for m in conv_D.modules())
